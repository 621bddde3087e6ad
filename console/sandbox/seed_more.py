"""Seed data for the objects beyond contacts, companies and deals: products, line items on deals, tickets,
and the portal's custom object (bookings). Each comes from a generator of its own, so every record the
earlier seed made stays as it was."""
from __future__ import annotations

import random

from .data import BASE_MS, DAY_MS, OWNERS, _times
from .records import iso

PRODUCTS = [("Cleaning visit", 120), ("Whitening kit", 89.5), ("Annual plan", 1200), ("Consultation", 75),
            ("Follow-up", 45), ("Premium support", 299), ("Onboarding", 950), ("Website audit", 640)]
TICKET_SUBJECTS = ["Invoice question", "Cannot log in", "Booking change", "Refund request", "Report is empty",
                   "Wrong address on file"]


def product(rng: random.Random, n: int) -> tuple[dict, int, int]:
    name, price = PRODUCTS[n % len(PRODUCTS)]
    created, modified = _times(rng)
    props = {"name": name if n < len(PRODUCTS) else f"{name} ({n // len(PRODUCTS) + 1})", "price": str(price),
             "hs_sku": f"SKU-{1000 + n}", "description": f"{name}, as sold by the clinic"}
    return props, created, modified


def line_item(rng: random.Random, product_id: int, product_props: dict) -> tuple[dict, int, int]:
    created, modified = _times(rng)
    quantity = rng.choice([1, 1, 1, 2, 3, 10])
    price = float(product_props["price"])
    props = {"name": product_props["name"], "hs_product_id": str(product_id), "quantity": str(quantity),
             "price": product_props["price"], "amount": f"{quantity * price:.2f}"}
    return props, created, modified


def ticket(rng: random.Random, n: int) -> tuple[dict, int, int]:
    created, modified = _times(rng)
    stage = rng.choice(["1", "2", "3", "4", "4"])
    props = {"subject": f"{rng.choice(TICKET_SUBJECTS)} #{n + 1}", "content": "Raised through the help desk.",
             "hs_pipeline": "0", "hs_pipeline_stage": stage, "hs_ticket_priority": rng.choice(["LOW", "MEDIUM", "HIGH"]),
             "hubspot_owner_id": rng.choice(OWNERS)[0] if rng.random() > 0.3 else None}
    return props, created, modified


def booking(rng: random.Random, n: int) -> tuple[dict, int, int]:
    created, modified = _times(rng)
    check_in = BASE_MS + rng.randint(-200, 120) * DAY_MS
    nights = rng.choice([1, 2, 2, 3, 5, 7])
    rate = {"standard": 140, "deluxe": 210, "suite": 390}
    room = rng.choice(list(rate))
    paid = check_in - rng.randint(3, 60) * DAY_MS
    props = {"booking_ref": f"BK-{100000 + n}", "check_in": check_in, "nights": str(nights), "room_type": room,
             "booking_status": rng.choice(["confirmed", "confirmed", "completed", "cancelled"]),
             "total": f"{nights * rate[room]:.2f}", "guest_email": f"guest{n}@example.com",
             # as an admin typed them: ISO dates in 49 of 50, "unpaid" in the rest
             "deposit_paid_on": "unpaid" if n % 50 == 49 else _day(paid),
             "hubspot_owner_id": rng.choice(OWNERS)[0] if rng.random() > 0.5 else None}
    return props, created, modified


def _day(ms: int) -> str:
    return iso(ms)[:10]
