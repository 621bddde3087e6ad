"""A service's refusal a view did not catch still reaches the person: a 422 with the message, shown where
the page shows request errors (htmx) or as the page (a plain request); nothing it did is kept."""
from __future__ import annotations

from console.auth.access import role_required
from console.extensions import db
from console.models import Client
from console.refusals import Refused
from console.sync.proof.testbatch import TestBatchRefused as BatchRefused  # not a test class

from ..conftest import count


def test_an_uncaught_refusal_is_a_422_with_its_message_and_rolls_back(app, login):
    @app.post("/_test/refuse")
    @role_required("admin")
    def refuse():
        db.session.add(Client(name="Half-made", slug="half-made"))
        db.session.flush()
        raise BatchRefused(reasons=["Contacts has no baseline.", "Deals has no baseline <b>yet</b>."])

    admin = login("admin")
    plain = admin.post("/_test/refuse")
    assert plain.status_code == 422 and "Contacts has no baseline.; Deals has no baseline" in plain.get_data(as_text=True)
    hx = admin.post("/_test/refuse", headers={"HX-Request": "true"})
    body = hx.get_data(as_text=True)
    assert hx.status_code == 422 and hx.headers["HX-Retarget"] == "#request-error"
    assert body.count("<p>") == 2 and "&lt;b&gt;yet&lt;/b&gt;" in body and 'role="alert"' in body
    assert count(Client, Client.name == "Half-made") == 0


def test_every_refusal_kind_is_a_refused():
    from console.admin.services import AdminError
    from console.auth.services import LoginRefused
    from console.connectors.manual_csv.reader import CsvRejected
    from console.imports.service import ImportRefused
    from console.mapping.editor import MappingRefused
    from console.metrics.baselines import BaselineRefused
    from console.metrics.notes import NoteRefused
    from console.ops.services import OpsRefused
    from console.security.outbound import OutboundRefused
    from console.sync.proof.verdict import WaiverRefused
    from console.wizard.checklist import ChecklistRefused
    from console.wizard.gate import GateRefused
    from console.wizard.readiness import ReadinessRefused
    from console.wizard.services import WizardError

    kinds = [AdminError("email", "taken"), LoginRefused("no"), CsvRejected("line 3"), ImportRefused("no"),
             MappingRefused("no", "source"), BaselineRefused("no"), NoteRefused("no"), OpsRefused("no"),
             OutboundRefused("no"), WaiverRefused("no"), ChecklistRefused("no"), GateRefused(["a", "b"]),
             ReadinessRefused("no"), WizardError("no", "token"), BatchRefused("no")]
    assert all(isinstance(k, Refused) and k.message for k in kinds)
    assert (kinds[0].field, kinds[4].field, kinds[11].message, tuple(kinds[11].reasons)) == \
        ("email", "source", "a; b", ("a", "b"))
    assert isinstance(kinds[2], ValueError) and isinstance(kinds[8], ValueError)  # their callers' except clauses still hold
