"""Default mappings are created once even when the first sync and the wizard's mapping page (or a test
batch) create them at the same moment: the loser's commit is rolled back and the winner's rows stand."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from console.extensions import db
from console.mapping import service
from console.models import IntegrationEnumMapping, IntegrationFieldMapping

from .. import factories

PROPERTIES = [{"name": "lifecyclestage", "options": [{"value": "lead", "label": "Lead"},
                                                      {"value": "customer", "label": "Customer"}]}]


class _RacingDefaults:
    """Hands out the real defaults, but first lets another session create them (once)."""

    def __init__(self, app, real, conn_id: int):
        self.app, self.real, self.conn_id, self.raced = app, real, conn_id, False

    def __call__(self, object_type: str, connection_id: int):
        if not self.raced:
            self.raced = True
            other = threading.Thread(target=self._other, args=(object_type,))
            other.start()
            other.join()
        return self.real(object_type, connection_id)

    def _other(self, object_type: str) -> None:
        with self.app.app_context():
            try:
                assert service.ensure_default_mappings(self.conn_id, object_type, PROPERTIES) > 0
            finally:
                db.session.remove()


def test_two_writers_create_the_defaults_once(app, monkeypatch):
    conn = factories.connection(factories.client())
    db.session.commit()
    real = service.defaults
    racing = _RacingDefaults(app, real, conn.id)
    monkeypatch.setattr(service, "defaults", racing)
    assert service.ensure_default_mappings(conn.id, "contacts", PROPERTIES) == 0  # the other writer won
    assert racing.raced
    fields = db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == conn.id))
    enums = db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationEnumMapping).where(
        IntegrationEnumMapping.connection_id == conn.id))
    assert fields == len(real("contacts", conn.id)[0]) and enums == 2
    assert service.ensure_default_mappings(conn.id, "contacts", PROPERTIES) == 0  # and nothing more later
