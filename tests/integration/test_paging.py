"""One paginator for every cursor-paged HubSpot read (connectors/hubspot/paging.py): a provider that hands
back a token already followed stops the read with a clear error instead of paging the same records forever.
Against the sandbox over real HTTP, whose `repeat_token` fault answers with the token the request sent."""
from __future__ import annotations

import itertools

import pytest

from console.choices import RunStatus
from console.connectors.hubspot.paging import Pages, PagingLoop
from console.extensions import db
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.faults import FaultRule
from console.sync.inbound.runner import ensure_job, execute, start_run
from console.sync.provider import open_session

from .. import factories

FAST = {"backoff_base": 0.01, "timeout": 2.0}


def test_pages_follow_each_token_once():
    pages = Pages()
    assert pages.params({"limit": 100}) == {"limit": 100} and not pages.finished
    assert pages.advance({"paging": {"next": {"after": "a"}}}) == "a"
    assert pages.params({"limit": 100}) == {"limit": 100, "after": "a"}
    assert pages.advance({"paging": {"next": {"after": "b"}}}) == "b"
    with pytest.raises(PagingLoop, match="second time"):
        pages.advance({"paging": {"next": {"after": "a"}}})  # not only the previous token: any one followed
    assert pages.advance({"results": []}) is None and pages.finished
    resumed = Pages("b")  # a backfill resumed from its saved token refuses that token too
    with pytest.raises(PagingLoop):
        resumed.advance({"paging": {"next": {"after": "b"}}})


@pytest.fixture(scope="module")
def stuck_sandbox():
    """250 contacts (three list pages of 100); every contacts list answer after the first names the token
    its request sent as the next one."""
    rule = FaultRule("repeat_token", rate=1.0, endpoint="/crm/v3/objects/contacts", method="GET")
    with SandboxServer(SandboxConfig(contacts=250, deals=5, seed=11, limits=False, faults=(rule,))) as sb:
        yield sb


def test_a_repeated_token_stops_the_inventory_read(app, stuck_sandbox):
    conn = factories.hubspot_connection(stuck_sandbox.url, stuck_sandbox.token)
    db.session.commit()
    stream = open_session(conn, **FAST).stream("contacts", ["email"])
    read = []
    with pytest.raises(PagingLoop):
        for record in itertools.islice(stream.inventory(archived=False), 1000):  # bounded: the old loop never ended
            read.append(record.external_id)
    assert len(read) == 200  # the first page, and the second once: the third request met its own token again


def test_a_backfill_that_meets_a_repeated_token_fails_with_the_reason(app, stuck_sandbox):
    conn = factories.hubspot_connection(stuck_sandbox.url, stuck_sandbox.token)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    stream = open_session(conn, **FAST).stream("contacts", ["email"])
    with pytest.raises(PagingLoop):
        list(itertools.islice(stream.pages(None, None, 100), 10))  # bounded likewise
    run = start_run(job, "backfill")
    execute(run, client_options=FAST)
    db.session.refresh(run)
    assert run.status == RunStatus.FAILED.value and "paging token" in (run.error_message or "")
    # The first page committed with its token; the second names that token again, so it is not written
    # (its cursor would send the next run round the same loop): 100 counted, each once.
    assert run.buckets_balance and run.seen == run.created + run.failed == 100
