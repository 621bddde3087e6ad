"""A run's request log: every call it made, as the sandbox counts the calls it answered (faults, retries and
429s included), with no token, query value or sensitive value anywhere in the traffic database; the run
page shows it, filters it, and opens a failed run's log at its first failing call."""
from __future__ import annotations

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import IntegrationRequestLog
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.faults import FaultRule
from console.sync.inbound.runner import ensure_job

from .. import factories
from ..reporting import sync


def answered(sb) -> int:
    return sum(requests.get(f"{sb.url}/_sandbox/info", timeout=10).json()["requests"].values())


def logged(run_id: int) -> list[IntegrationRequestLog]:
    with db.engines["traffic"].connect() as traffic:
        return list(traffic.execute(sa.select(IntegrationRequestLog).where(IntegrationRequestLog.run_id == run_id)
                                    .order_by(IntegrationRequestLog.id)))


def traffic_text() -> str:
    """Every value of every table of the traffic database, as text."""
    out = []
    with db.engines["traffic"].connect() as traffic:
        for name in sa.inspect(traffic).get_table_names():
            out += [" ".join(str(v) for v in row) for row in traffic.exec_driver_sql(f"SELECT * FROM {name}")]
    return "\n".join(out)


def test_the_log_holds_every_call_the_sandbox_answered_and_nothing_secret(app):
    faults = (FaultRule("500", endpoint="/crm/v3/objects/contacts", count=3),
              FaultRule("429", endpoint="/crm/v3/objects/contacts", count=2),
              FaultRule("reset", endpoint="/crm/v3/objects/contacts", count=1))
    with SandboxServer(SandboxConfig(contacts=650, deals=0, companies=8, seed=81, limits=False, faults=faults)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        db.session.commit()
        run = sync(job, "backfill")
        assert run.status in ("succeeded", "partial"), run.error_message
        calls = logged(run.id)
        assert len([c for c in calls if c.status is not None]) == answered(sb)  # exactly, retries and 429s too
        assert len(calls) == run.api_calls  # and the reset, which got no answer
        assert sorted((c.status or 0) for c in calls if c.status not in (200, 207)) == [0, 429, 429, 500, 500, 500]
        assert {c.attempt for c in calls} >= {0, 1} and all(c.latency_ms >= 0 for c in calls)
        lists = [c for c in calls if c.path == "/crm/v3/objects/contacts"]
        assert len(lists) >= 7 and {c.query_keys for c in lists} >= {"limit,properties", "after,limit,properties"}
        assert all("{id}" in c.path or not any(p.isdigit() for p in c.path.split("/")) for c in calls)

        text = traffic_text()
        assert sb.token not in text and "Bearer" not in text
        phones = [r.props["phone"] for r in sb.state.portal.all_active("contacts") if r.props.get("phone")]
        assert phones and not any(p in text for p in phones)  # the mapping marks phone sensitive: never stored
        first_after = next(c for c in lists if "after" in c.query_keys)
        assert first_after.query_keys == "after,limit,properties"  # keys, never the cursor's value


def test_the_run_page_shows_filters_and_opens_a_failed_run_at_its_first_failing_call(app, login, monkeypatch):
    from console.ops import calls as calls_view

    faults = (FaultRule("500", endpoint="/crm/v4/associations/*"),)  # every association read: the run fails
    with SandboxServer(SandboxConfig(contacts=700, deals=0, companies=6, seed=83, limits=False, faults=faults)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        ensure_job(conn, "companies")  # so contacts read their companies' associations
        db.session.commit()
        run = sync(job, "backfill")
        assert run.status == "failed" and "500" in run.error_message
        calls = logged(run.id)
        first = next(c for c in calls if c.status == 500)
        assert calls.index(first) >= 6  # the list pages and reference reads came first
        monkeypatch.setattr(calls_view, "PER_PAGE", 3)
        ops = login("ops")
        page = ops.get(f"/ops/runs/{run.id}").get_data(as_text=True)
        assert 'id="first-failing-call"' in page and f'id="call-{first.id}"' in page
        assert f"page {calls.index(first) // 3 + 1} of {-(-len(calls) // 3)}" in page
        failing = ops.hx_get(f"/ops/runs/{run.id}/calls?status=failing").get_data(as_text=True)
        assert failing.lstrip().startswith('<div id="run-calls">') and ">500<" in failing and ">200<" not in failing
        assert ops.hx_get(f"/ops/runs/{run.id}/calls?status=bogus&page=99999999").status_code == 200
        assert login("client", conn.client).get(f"/ops/runs/{run.id}/calls").status_code == 404
