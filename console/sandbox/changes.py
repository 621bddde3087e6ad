"""The change simulator: update, create and archive records so incremental syncs have work."""
from __future__ import annotations

import random
from collections.abc import Callable

from . import data, seed_more
from .records import now_ms
from .schema import CUSTOM, LEAD_STATUS, LIFECYCLE, PIPELINES
from .store import Portal


def _new_values(rng: random.Random, object_type: str) -> dict:
    if object_type == "contacts":
        return {"lifecyclestage": rng.choice(LIFECYCLE[:6]), "hs_lead_status": rng.choice(LEAD_STATUS),
                "hubspot_owner_id": rng.choice(data.OWNERS)[0], "phone": data.phone(rng)}
    if object_type == "deals":
        pipeline = rng.choice(list(PIPELINES))
        return {"pipeline": pipeline, "dealstage": rng.choice(PIPELINES[pipeline][1])[0],
                "amount": str(rng.choice([900, 2400, 7200, 15500]))}
    if object_type == "companies":
        return {"numberofemployees": str(rng.choice([5, 12, 50, 200]))}
    nights = rng.choice([1, 2, 4, 6])
    return {"products": {"price": str(rng.choice([49, 99, 149.5, 300]))},
            "line_items": {"quantity": str(rng.choice([1, 2, 5, 12]))},
            "tickets": {"hs_pipeline_stage": rng.choice(["1", "2", "3", "4"]),
                        "hs_ticket_priority": rng.choice(["LOW", "MEDIUM", "HIGH"])},
            CUSTOM: {"booking_status": rng.choice(["confirmed", "completed", "cancelled"]), "nights": str(nights),
                     "total": f"{nights * 210:.2f}"}}[object_type]


def _maker(rng: random.Random, portal: Portal, object_type: str) -> Callable[[int], tuple[dict, int, int]]:
    """How a new record of the type is made (a line item names one of the portal's products)."""
    if object_type == "line_items":
        products = [portal.records["products"][p] for p in portal.ids["products"]]
        if not products:
            raise ValueError("no products to make line items of")
        return lambda n: seed_more.line_item(rng, (item := rng.choice(products)).id, item.props)
    return {"contacts": lambda n: data.contact(rng, n, []), "companies": lambda n: data.company(rng, n),
            "deals": lambda n: data.deal(rng, n), "products": lambda n: seed_more.product(rng, n),
            "tickets": lambda n: seed_more.ticket(rng, n), CUSTOM: lambda n: seed_more.booking(rng, n)}[object_type]


def apply_changes(portal: Portal, object_type: str = "contacts", update: int = 0, create: int = 0,
                  archive: int = 0, same_timestamp: bool = False, seed: int | None = None) -> dict:
    """Change records; with `same_timestamp` every change carries one identical modification time."""
    if object_type not in portal.records:
        raise ValueError(f"unknown object type {object_type!r}")
    if min(update, create, archive) < 0:
        raise ValueError("counts must not be negative")
    rng = random.Random(seed if seed is not None else portal.seed + portal.version)
    stamp = now_ms() if same_timestamp else None
    touched: dict[str, list[str]] = {"updated": [], "created": [], "archived": []}
    with portal.lock:
        active = portal.all_active(object_type)
        if update + archive > len(active):
            raise ValueError(f"only {len(active)} active {object_type} to change")
        chosen = rng.sample(active, update + archive)
        for rec in chosen[:update]:
            portal.update(object_type, rec, _new_values(rng, object_type), at=stamp)
            touched["updated"].append(str(rec.id))
        for rec in chosen[update:]:
            portal.archive(object_type, rec, at=stamp)
            touched["archived"].append(str(rec.id))
        maker = _maker(rng, portal, object_type)
        for n in range(create):
            props, _, _ = maker(len(portal.ids[object_type]) + n)
            rec = portal.create(object_type, props, at=stamp)
            touched["created"].append(str(rec.id))
    return touched
