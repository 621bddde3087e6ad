"""A portal's custom object schemas are the provider's answer, and the "More objects" form is a person's:
both are hostile until checked. What is kept of a schema is bounded and well formed (a type id never a
path, a property name never anything but HubSpot's own alphabet); the form syncs only what the portal
offers, with a schedule in range, for an editor, with its CSRF token."""
from __future__ import annotations

import time

import sqlalchemy as sa

from console.connectors.hubspot.schemas import MAX_PROPERTIES, MAX_SCHEMAS, custom_schemas
from console.extensions import db
from console.models import IntegrationObjectType, IntegrationSyncJob
from console.sandbox import SandboxConfig, SandboxServer

from .. import factories


def _schema(type_id="2-77", name="bookings", **extra):
    return {"objectTypeId": type_id, "name": name, "labels": {"singular": "Booking", "plural": "Bookings"},
            "primaryDisplayProperty": "ref", "properties": [{"name": "ref", "type": "string"}], **extra}


def test_only_well_formed_schemas_are_kept_and_every_piece_is_bounded():
    hostile = [
        _schema("../contacts"), _schema("0-1"), _schema("2-1; DROP TABLE x"), _schema("2-" + "9" * 40),
        _schema(name=None), _schema(name=""), "junk", None, 7, ["2-5"],
        _schema("2-5", name="n" * 100_000, labels={"singular": "S" * 1_000_000, "plural": ["x"]},
                properties=[{"name": "ok_1", "label": "L" * 10_000, "type": {"x": 1}}, {"name": "../x"},
                            {"name": "Upper"}, {"name": "a.b"}, {"name": "x" * 79}, {"name": 5}, "junk", None],
                associations=[{"toObjectTypeId": "0-1"}, {"toObjectTypeId": "0-7"}, {"toObjectTypeId": ["0-2"]},
                              "junk", {"toObjectTypeId": None}], primaryDisplayProperty="../x"),
        _schema("2-6", properties={"name": "ref"}, associations="0-1", labels="Bookings"),
    ]
    kept = custom_schemas(hostile)
    assert [s["object_type"] for s in kept] == ["2-5", "2-6"]
    five = kept[0]
    assert len(five["name"]) == 100 and len(five["singular"]) == 120 and five["plural"] == five["name"]
    assert five["properties"] == [{"name": "ok_1", "label": "L" * 120, "type": "string"}]
    assert five["associations"] == ["contacts"] and five["primary_property"] is None  # products: not a core object
    assert kept[1]["properties"] == [] and kept[1]["associations"] == [] and kept[1]["singular"] == "bookings"
    assert custom_schemas({"results": []}) == [] and custom_schemas(None) == []

    many = [_schema(f"2-{n}", properties=[{"name": f"p{i}", "type": "string"} for i in range(5_000)])
            for n in range(1_000)]
    started = time.perf_counter()
    kept = custom_schemas(many)
    assert len(kept) == MAX_SCHEMAS and all(len(s["properties"]) == MAX_PROPERTIES for s in kept)
    assert time.perf_counter() - started < 1.0  # bounded work, whatever the answer's size


def test_the_more_objects_form_syncs_only_what_the_portal_offers_for_an_editor(app, login):
    with SandboxServer(SandboxConfig(contacts=30, companies=3, deals=3, seed=2, limits=False, bookings=20)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        db.session.commit()
        admin, path = login("admin"), f"/connections/{conn.id}/wizard/mapping/objects"

        def jobs() -> int:
            db.session.commit()
            return db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncJob).where(
                IntegrationSyncJob.connection_id == conn.id)) or 0

        for bad in ({"sync": ["2-999"], "minutes::2-999": "5"}, {"sync": ["../contacts"], "minutes::../contacts": "5"},
                    {"sync": ["contacts"], "minutes::contacts": "5"}, {"sync": ["x" * 10_000], f"minutes::{'x' * 10_000}": "5"},
                    {"sync": ["2-7351", "products"], "minutes::2-7351": "5", "minutes::products": "5"[:0]}):
            resp = admin.hx_post(path, bad)
            assert resp.status_code == 422, resp.status_code
            assert jobs() == 0 and db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationObjectType)) == 0
        for minutes in ("0", "1441", "abc", "-5", "9" * 5000, "1.5"):
            resp = admin.hx_post(path, {"sync": ["products"], "minutes::products": minutes})
            assert resp.status_code == 422 and "between 1 and 1440" in resp.get_data(as_text=True)
        assert jobs() == 0
        assert admin.hx_post(path, {"sync": [f"2-{n}" for n in range(500)]}).status_code == 422
        assert jobs() == 0

        no_token = admin.client.post(path, data={"sync": ["products"], "minutes::products": "5"},
                                     headers={"HX-Request": "true"})
        assert no_token.status_code == 400 and jobs() == 0
        for role in ("ops", "client"):
            other = login(role, conn.client if role == "client" else None)
            assert other.hx_post(path, {"sync": ["products"], "minutes::products": "5"}).status_code in (403, 404)
        assert jobs() == 0

        resp = admin.hx_post(path, {"sync": ["products"], "minutes::products": "5"})
        assert resp.status_code == 200 and jobs() == 1


def test_a_connection_read_from_files_offers_no_more_objects(app, login):
    from console.reference import ensure_providers

    conn = factories.connection(factories.client())
    conn.provider_id = ensure_providers()["manual_csv"].id
    db.session.commit()
    admin = login("admin")
    page = admin.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'id="mapping-objects"' not in page and "custom objects could not be read" not in page
    resp = admin.hx_post(f"/connections/{conn.id}/wizard/mapping/objects", {"sync": ["products"], "minutes::products": "5"})
    assert resp.status_code == 422
    assert not db.session.scalars(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id)).all()
