"""A metric over associated records: the value of line items by the product each sells (the line item's
product id names a synced product record). Line items keep their own fields in the record's attributes (a
JSON document: read here row by row, the same on SQLite and MariaDB, a chunk at a time)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import CrmLead
from .readings import Reading, _live, _sources, base_currency

TOP_PRODUCTS = 10  # rows under the card; the rest are summed into one
CHUNK = 2000


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def product_value(connection_id: int, now: Any) -> Reading:
    """Every current line item's net value (its amount) by its product: a synced product's name; a product
    not synced (or archived) yet under its id; a line item that names none under "No product". The value is
    the whole; the facts count line items without a product."""
    names = {ext: str((attrs or {}).get("name") or f"Product {ext}") for ext, attrs in db.session.execute(
        sa.select(CrmLead.external_id, CrmLead.attributes).where(_live(connection_id, "products")))}
    by: dict[str | None, list] = {}
    rows = db.session.execute(sa.select(CrmLead.attributes).where(_live(connection_id, "line_items"))
                              .execution_options(yield_per=CHUNK))
    for (attrs,) in rows:
        attrs = attrs or {}
        product = attrs.get("hs_product_id")
        key = str(product) if product not in (None, "") else None
        entry = by.setdefault(key, [0, Decimal(0)])
        entry[0] += 1
        entry[1] += _amount(attrs.get("amount"))
    total = sum(n for n, _ in by.values())
    value = sum((a for _, a in by.values()), Decimal(0))
    currency = base_currency(connection_id)

    def row(label: str, n: int, amount: Decimal) -> dict[str, Any]:
        return {"label": label, "count": n, "amount": str(amount.quantize(Decimal("0.01"))), "unit": currency}

    sold = sorted(((names.get(k) or f"Product {k} (not synced yet)", n, a) for k, (n, a) in by.items() if k),
                  key=lambda r: (-r[2], -r[1], r[0]))
    out = [row(*r) for r in sold[:TOP_PRODUCTS]]
    if rest := sold[TOP_PRODUCTS:]:
        out.append(row(f"{len(rest):,} other products", sum(r[1] for r in rest), sum((r[2] for r in rest), Decimal(0))))
    without = by.get(None, [0, Decimal(0)])
    if without[0]:
        out.append(row("No product", without[0], without[1]))
    return Reading(value.quantize(Decimal("0.01")), total, out, {"without_product": without[0], "products": len(sold)},
                   _sources(connection_id, "line_items"))
