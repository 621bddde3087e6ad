"""The page writer's rows, compiled once per run: how a decision becomes the parameter tuple of each table
it inserts (the new lead, its events, the raw and the normalized event), bound for the driver, with no row
dicts in between.

Each table's INSERT is compiled once (`bulk.TupleInsert`) over every column the plan names. A value goes
through its column's bind processor (the very one SQLAlchemy would apply) only where the column has one
on this dialect; compiling checks that every column passed as it is has none. What repeats is bound once:
the page's write time once a page, constants once a run. `tests/integration/test_write_plan.py` writes
the same records through a mapping of every transform both ways (this plan, SQLAlchemy's executemany of
row dicts) and compares the stored rows.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from ...mapping.mapper import LEAD_FIELDS, MappingSpec
from ...models import CrmLead, CrmLeadEvent, IntegrationNormalizedEvent, IntegrationRawEvent
from ...models.base import table
from . import bulk
from .decision import Decision, mapped_of

Bind = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


class Binding:
    """One table's bind processors on one dialect, and its INSERT over the plan's columns."""

    def __init__(self, model: Any, dialect: sa.Dialect, columns: tuple[str, ...], bound: set[str]) -> None:
        sql_table = table(model)
        self.processors = {c.key: bulk.processor(c.type, dialect) for c in sql_table.columns}
        raw = [name for name in columns if name not in bound and self.processors[name] is not None]
        if raw:
            raise ValueError(f"{sql_table.name}: {raw} need binding on {dialect.name}")
        self.insert = bulk.TupleInsert(sql_table, columns, dialect)

    def bind(self, name: str) -> Bind:
        return self.processors[name] or _same


class WritePlan:
    """The inserts of one run's pages. `page(now)` binds the page's write time; the row makers take it."""

    def __init__(self, spec: MappingSpec, ids: tuple[int, int, int | None], object_type: str, source_label: str,
                 primary: sa.Dialect, traffic: sa.Dialect) -> None:
        client_id, self.connection_id, self.run_id = ids
        self.object_type = object_type
        self._leads(spec, client_id, source_label, primary)
        events = ("lead_id", "connection_id", "run_id", "kind", "field", "old_value", "new_value", "occurred_at",
                  "created_at")
        self.event_table = Binding(CrmLeadEvent, primary, events, {"occurred_at", "created_at"})
        raw = ("connection_id", "run_id", "object_type", "external_id", "event_key", "payload",
               "provider_updated_at", "created_at")
        self.raw_table = Binding(IntegrationRawEvent, traffic, raw, {"payload", "provider_updated_at", "created_at"})
        normalized = ("connection_id", "source_kind", "source_ref", "object_type", "external_id", "lead_id",
                      "event_type", "summary", "occurred_at", "lag_ms", "created_at")
        self.normalized_table = Binding(IntegrationNormalizedEvent, traffic, normalized,
                                        {"summary", "occurred_at", "created_at"})
        self._primary_time = self.event_table.bind("created_at")
        self._traffic_time = self.raw_table.bind("created_at")
        self._payload = self.raw_table.bind("payload")
        self._summary = self.normalized_table.bind("summary")
        self.no_changes = self._summary({"changed": []})  # every created record's summary

    def _leads(self, spec: MappingSpec, client_id: int, source_label: str, dialect: sa.Dialect) -> None:
        """A new lead's row: the run's constants, the record's own columns, then the mapped values that
        land in a lead column (a mapping's other targets live elsewhere), each bound by its column."""
        targets = {step.target for step in spec.plan} | {"provider_updated_at"}  # the version is always kept
        if spec.follows_up:
            targets.add("follow_up_state")
        if spec.attribute_targets:
            targets.add("attributes")
        columns = [c.key for c in table(CrmLead).columns if c.key != "id"]
        self._mapped = tuple(n for n in columns if n in targets and (n in LEAD_FIELDS or n == "follow_up_state"))
        constants = ("client_id", "connection_id", "object_type", "source_label")
        own = ("external_id", "content_hash", "created_at", "updated_at")
        unmapped = tuple(n for n in columns if n not in (*constants, *own, *self._mapped))
        order = (*constants, *unmapped, *own, *self._mapped)
        self.lead_table = Binding(CrmLead, dialect, order, {*unmapped, "created_at", "updated_at", *self._mapped})
        binding = self.lead_table
        model = table(CrmLead)
        self._lead_head = (client_id, self.connection_id, self.object_type, source_label,
                           *(binding.bind(n)(_column_default(model.c[n])) for n in unmapped))
        self._get = itemgetter(*self._mapped) if len(self._mapped) > 1 else (lambda v: (v[self._mapped[0]],))
        self._bind_mapped = [(i, p) for i, n in enumerate(self._mapped) if (p := binding.processors[n])]

    def page(self, now: datetime) -> PageRows:
        return PageRows(self, now, self._primary_time(now), self._traffic_time(now))

    def lead_values(self, values: dict) -> tuple:
        """The mapped lead columns of one record, bound; a value the mapping did not give is NULL."""
        try:
            got = self._get(values)
        except KeyError:  # a record whose version came without a time, say
            got = tuple(values.get(n) for n in self._mapped)
        if not self._bind_mapped:
            return got
        out = list(got)
        for i, process in self._bind_mapped:
            out[i] = process(out[i])
        return tuple(out)


class PageRows:
    """The row makers of one page, with its write time bound for each database."""

    def __init__(self, plan: WritePlan, now: datetime, now_primary: Any, now_traffic: Any) -> None:
        self.plan, self.now, self.now_primary, self.now_traffic = plan, now, now_primary, now_traffic
        self._time = plan.event_table.bind("occurred_at")
        self._traffic_dt = plan.raw_table.bind("provider_updated_at")

    def lead(self, d: Decision) -> tuple:
        plan, mapped = self.plan, mapped_of(d)
        return (*plan._lead_head, d.record.external_id, mapped.content_hash(), self.now_primary, self.now_primary,
                *plan.lead_values(mapped.values))

    def event(self, lead_id: int, kind: str, field: str | None, old: str | None, new: str | None,
              d: Decision) -> tuple:
        plan = self.plan
        return (lead_id, plan.connection_id, plan.run_id, kind, field, old, new, self._time(d.occurred),
                self.now_primary)

    def occurred(self, d: Decision) -> Any:
        """The record's modification time bound for the traffic database (its two rows share it)."""
        return self._traffic_dt(d.occurred)

    def raw(self, d: Decision, payload: dict, occurred: Any) -> tuple:
        plan = self.plan
        return (plan.connection_id, plan.run_id, plan.object_type, d.record.external_id, d.event_key,
                plan._payload(payload), occurred, self.now_traffic)

    def normalized(self, d: Decision, source_kind: str, changed: list[str], lag_ms: int | None,
                   occurred: Any) -> tuple:
        plan = self.plan
        summary = plan.no_changes if not changed else plan._summary({"changed": changed})
        return (plan.connection_id, source_kind, d.event_key, plan.object_type, d.record.external_id,
                d.lead.id if d.lead else None, "archived" if d.record.archived else d.bucket, summary,
                occurred, lag_ms, self.now_traffic)


def _column_default(column: sa.Column) -> Any:
    """What SQLAlchemy inserts for a column a row leaves out: its scalar default, else NULL."""
    default = column.default
    if default is None:
        return None
    if not default.is_scalar:
        raise ValueError(f"{column}: a new lead's plan has no value for it")
    return getattr(default, "arg")  # noqa: B009 - a ScalarElementColumnDefault; typed as its base
