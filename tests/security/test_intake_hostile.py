"""Hostile intake files and answers (issue 32): a 412-byte YAML alias bomb (as a JSON sample and as an
OpenAPI enum), a CSV sample that trapped csv.Sniffer, and answers of 20,000 digits on every staff view
that reads them. Each answers within 2 s with fields or a clear refusal, the server keeps answering
/healthz in under 0.5 s meanwhile, and the reading allocates under 50 MB."""
from __future__ import annotations

import time
import tracemalloc

from console.extensions import db
from console.intake.samples import SampleRejected, read
from console.intake_questions import MAX_ANSWER_CHARS

from .. import factories
from .probe import healthz_times
from .test_uploads_and_files import browser_session


def _bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    lines.append(f"a{levels}: [" + ",".join([f"*a{levels - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


BOMB = _bomb()
BOMB_ENUM = ("openapi: 3.0.0\n" + "\n".join("x" + line for line in BOMB.splitlines()) +
             "\ncomponents:\n  schemas:\n    S:\n      properties:\n        s: {type: string, enum: *a8}\n")
HOSTILE_FILES = [("bomb.json", BOMB.encode()), ("bomb.yaml", BOMB_ENUM.encode()), ("evil.csv", b"'," * 32_768)]


def test_each_hostile_file_is_read_or_refused_fast_and_small():
    assert len(BOMB) < 450  # the 412-byte file, give or take its spelling
    for name, data in HOSTILE_FILES:
        tracemalloc.start()
        started = time.perf_counter()
        try:
            kind, fields = read(name, data)
            outcome = f"{kind}: {len(fields)} fields"
        except SampleRejected as exc:
            outcome = str(exc)
        took = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert took < 2.0, (name, took)
        assert peak < 50 * 2 ** 20, (name, peak)
        if name.startswith("bomb"):
            assert "aliases" in outcome, outcome
    # Anchors and aliases within the budget still read (an OpenAPI document that reuses a schema).
    reuse = ("openapi: 3.0.0\ncomponents:\n  schemas:\n    A: &a\n      properties:\n        id: {type: string}\n"
             "    B: *a\n")
    assert read("reuse.yaml", reuse.encode()) == ("openapi", [
        {"name": "id", "type": "text", "values": [], "source": "A"}, {"name": "id", "type": "text", "values": [], "source": "B"}])


def test_hostile_files_and_answers_never_stall_the_server(app, live_server):
    owner = factories.user("owner")
    conn = factories.connection(factories.client(), owner_user_id=owner.id)
    db.session.commit()
    http, token = browser_session(live_server, owner.email, factories.PASSWORD)
    took: dict[str, float] = {}
    with healthz_times(live_server) as health:
        headers = {"HX-Request": "true", "X-CSRFToken": token}
        for name, data in HOSTILE_FILES:
            started = time.perf_counter()
            resp = http.post(f"{live_server}/connections/{conn.id}/intake/attachments", headers=headers, timeout=120,
                             data={"csrf_token": token}, files={"file": (name, data)})
            took[name] = time.perf_counter() - started
            assert resp.status_code in (200, 422), (name, resp.status_code)
            if name.startswith("bomb"):
                assert resp.status_code == 422 and "aliases" in resp.text
        digits = "9" * MAX_ANSWER_CHARS
        for key in ("sla", "acceptance", "quality", "topology_flows", "matching", "dependencies", "stakeholders",
                    "blackouts", "topology_records", "alert_channels"):
            assert http.post(f"{live_server}/connections/{conn.id}/intake/answers/{key}", headers=headers, timeout=30,
                             data={key: digits}).status_code == 200
        for step in ("monitor", "golive", "mapping", "access", "report", "design"):
            path = f"/connections/{conn.id}/wizard/{step}" if step != "design" else f"/connections/{conn.id}/design"
            started = time.perf_counter()
            resp = http.get(f"{live_server}{path}", timeout=120)
            took[step] = time.perf_counter() - started
            assert resp.status_code in (200, 404), (step, resp.status_code)
        started = time.perf_counter()
        assert http.get(f"{live_server}/connections/{conn.id}/intake/", timeout=120).status_code == 200
        took["intake"] = time.perf_counter() - started
    assert max(took.values()) < 2.0, took
    assert health[len(health) // 2] < 0.5 and health[-1] < 2.0, health
