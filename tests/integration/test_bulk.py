"""The page writer's positional executemany (console/sync/inbound/bulk.py) stores exactly what SQLAlchemy's own
executemany stores: the same rows written both ways, compared as the driver returns them, on whichever
database the suite runs (SQLite, and MariaDB in CI)."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from console.extensions import db
from console.models import CrmLead, IntegrationRawEvent
from console.models.base import table, utcnow
from console.sync.inbound import bulk

from .. import factories

WHEN = datetime(2026, 3, 1, 12, 30, 45, 123456)


def lead_rows(client_id: int, connection_id: int, prefix: str) -> list[dict]:
    """Rows that reach every kind of bind processing: datetimes with microseconds, decimals, JSON with
    non-ASCII text, booleans, NULLs, and rows that leave a defaulted column out (separate statements)."""
    rows = []
    for i in range(7):
        row = {"client_id": client_id, "connection_id": connection_id, "object_type": "contacts",
               "external_id": f"{prefix}{i}", "source_label": "HubSpot CRM", "email": f"ana{i}@example.com",
               "first_name": "Zoë" if i % 2 else None, "amount": Decimal("1234.50") * i if i % 3 else None,
               "currency": "CAD", "attributes": {"note": "naïve — “quoted”", "n": i, "nested": [1, None, "x"]},
               "provider_updated_at": WHEN + timedelta(microseconds=i),
               # whole seconds too: pymysql writes those without a fraction, the ISO text with .000000
               "next_activity_at": None if i % 3 else WHEN.replace(microsecond=0) + timedelta(days=i),
               "content_hash": f"{i:064x}", "created_at": WHEN, "updated_at": WHEN}
        if i % 2 == 0:
            row["archived"] = i == 4  # the others take the column's default (False), as SQLAlchemy gives it
        rows.append(row)
    return rows


def sqlalchemy_way(statement, rows: list[dict]) -> None:
    """SQLAlchemy's executemany, one per set of columns (it refuses rows that leave different ones out)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for group in groups.values():
        db.session.execute(statement, group)


def stored(sql_table: str, key: str, prefix: str, leave_out: tuple[str, ...]) -> list[tuple]:
    """The rows as the driver hands them back, without the columns that differ by construction."""
    result = db.session.connection().exec_driver_sql(f"SELECT * FROM {sql_table} ORDER BY {key}")
    names = list(result.keys())
    keep = [i for i, name in enumerate(names) if name not in leave_out]
    return [tuple(row[i] for i in keep) for row in result if str(row[names.index(key)]).startswith(prefix)]


def test_inserted_leads_are_stored_exactly_as_sqlalchemy_stores_them(app):
    conn = factories.hubspot_connection("http://127.0.0.1:9", "pat-x")
    db.session.commit()
    sqlalchemy_way(sa.insert(table(CrmLead)), lead_rows(conn.client_id, conn.id, "a"))
    bulk.insert_many(db.session.connection(), table(CrmLead), lead_rows(conn.client_id, conn.id, "b"))
    db.session.commit()
    ours = stored("crm_leads", "external_id", "b", ("id", "external_id"))
    theirs = stored("crm_leads", "external_id", "a", ("id", "external_id"))
    assert len(ours) == 7 and ours == theirs
    assert db.session.scalar(sa.select(sa.func.count()).where(CrmLead.archived.is_(True))) == 2


def test_updates_by_id_match_and_fill_the_on_update_time(app):
    conn = factories.hubspot_connection("http://127.0.0.1:9", "pat-x")
    db.session.commit()
    for prefix in "ab":
        sqlalchemy_way(sa.insert(table(CrmLead)), lead_rows(conn.client_id, conn.id, prefix))
    db.session.commit()
    ids = dict(db.session.execute(sa.select(CrmLead.external_id, CrmLead.id)).all())

    def changes(prefix: str, key: str) -> list[dict]:
        return [{key: ids[f"{prefix}{i}"], "email": None if i == 1 else f"new{i}@example.org",
                 "amount": Decimal("99.99"), "attributes": {"é": i}, "archived": i == 2,
                 "archived_at": WHEN if i == 2 else None, "updated_at": WHEN + timedelta(seconds=i)}
                for i in range(4)]

    leads = table(CrmLead)
    db.session.execute(sa.update(leads).where(leads.c.id == sa.bindparam("_id")), changes("a", "_id"))
    bulk.update_many(db.session.connection(), leads, changes("b", "_id"))
    before = utcnow()
    bulk.update_many(db.session.connection(), leads, [{"_id": ids["b6"], "first_name": "Ines"}])
    db.session.commit()
    assert stored("crm_leads", "external_id", "b", ("id", "external_id"))[:6] == \
        stored("crm_leads", "external_id", "a", ("id", "external_id"))[:6]
    touched = db.session.get(CrmLead, ids["b6"])
    assert touched.first_name == "Ines" and touched.updated_at >= before  # the column's on-update value
    assert db.session.get(CrmLead, ids["b1"]).email is None


def test_traffic_rows_match_in_the_traffic_database(app):
    rows = [{"connection_id": 1, "run_id": None, "object_type": "contacts", "external_id": str(i),
             "event_key": f"{p}{i}:1700000000000:l", "payload": {"email": f"x{i}@e.com", "big": 2 ** 70, "ü": [i]},
             "provider_updated_at": WHEN, "created_at": WHEN} for p in "ab" for i in range(5)]
    engine = db.engines["traffic"]
    with engine.begin() as traffic:
        traffic.execute(sa.insert(table(IntegrationRawEvent)), [r for r in rows if r["event_key"][0] == "a"])
        bulk.insert_many(traffic, table(IntegrationRawEvent), [r for r in rows if r["event_key"][0] == "b"])
    with engine.connect() as traffic:
        result = traffic.exec_driver_sql("SELECT * FROM integration_raw_events ORDER BY event_key")
        names = list(result.keys())
        keep = [i for i, n in enumerate(names) if n not in ("id", "event_key")]
        got = {p: [tuple(r[i] for i in keep) for r in result_rows if r[names.index("event_key")][0] == p]
               for result_rows in [list(result)] for p in "ab"}
    assert len(got["b"]) == 5 and got["a"] == got["b"]
