"""The outbound writes that are not a lead's fields: changes to records the console does not hold
(corrected from their sync errors, written by id) and the associations made on the console side."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...choices import ChangeStatus
from ...connectors.base import LinkInput, WriteInput
from ...extensions import db
from ...mapping.mapper import FieldRule, MappingSpec
from ...mapping.outbound import NotWritable, provider_value, writable
from ...models import CrmLead, CrmLeadChange, CrmLeadLink
from ...models.base import utcnow
from ..runs.accounting import Tally
from .changes import provider_id


class OtherWrites:
    """The Pusher's writes of unheld records and associations (a part of the Pusher, kept apart for size)."""

    session: Any
    spec: MappingSpec
    tally: Tally
    dry_run: bool
    object_type: str
    connection_id: int | None
    run_id: int | None
    rules: dict[str, FieldRule]

    def _due(self, model: type[CrmLeadChange] | type[CrmLeadLink], *where: Any) -> Any: ...
    def _end_group(self) -> None: ...
    def _close(self, change: CrmLeadChange, status: ChangeStatus, note: str) -> None: ...
    def _fail(self, row: CrmLeadChange | CrmLeadLink, why: str) -> None: ...

    def push_unheld(self, connection_id: int) -> None:
        """Changes to records the console does not hold (corrected from their sync errors): written by id,
        100 a call; no conflict or condition applies (the console holds no copy to compare with)."""
        self.connection_id = connection_id
        for rows in self._due(CrmLeadChange, CrmLeadChange.lead_id.is_(None)):
            self._unheld(rows)
            self._end_group()

    def _unheld(self, rows: list[CrmLeadChange]) -> None:
        records: dict[str, dict[str, CrmLeadChange]] = {}
        for change in rows:  # the newest change of each field wins
            records.setdefault(str(change.external_id), {})[change.field] = change
        self.tally.read(len(records))
        inputs, carried = [], {}
        for ext, fields in records.items():
            props, why = {}, ""
            for change in fields.values():
                rule = self.rules.get(change.field)
                try:
                    if rule is None or not writable(rule):
                        raise NotWritable(f"{change.field} is not written to the CRM")
                    props[rule.source] = provider_value(rule, self.spec, change.value)
                except NotWritable as exc:
                    why = str(exc)[:500]
            carried[ext] = list(fields.values())
            if why or not props:
                for change in carried[ext]:
                    self._fail(change, why or "nothing to write")
                self.tally.add(ext, "failed", why or "nothing to write")
                continue
            inputs.append(WriteInput(ext, props, id=ext))
        if self.dry_run:
            for item in inputs:
                self.tally.add(item.ref, "updated", "writes " + ", ".join(
                    f"{k}={'(sensitive)' if k in self.spec.sensitive_fields else repr(v)}" for k, v in item.properties.items()))
            return
        for result in self.session.write(self.object_type, inputs, None) if inputs else []:
            if result.error:
                for change in carried[result.ref]:
                    self._fail(change, result.error)
                self.tally.add(result.ref, "failed", result.error)
            else:
                for change in carried[result.ref]:
                    self._close(change, ChangeStatus.WRITTEN, "")
                self.tally.add(result.ref, "updated", "written to the CRM; the next sync reads the record")

    def push_links(self, connection_id: int) -> None:
        """The associations made on the console side from this object type, after its records: each once
        both its records are in the CRM (until then it waits, counted as skipped), 100 a call."""
        self.connection_id = connection_id
        for links in self._due(CrmLeadLink):
            self._links(links)
            self._end_group()

    def _links(self, links: list[CrmLeadLink]) -> None:
        ids = {i for link in links for i in (link.from_lead_id, link.to_lead_id)}
        leads = {lead.id: lead for lead in db.session.scalars(sa.select(CrmLead).where(CrmLead.id.in_(ids)))}
        self.tally.read(len(links))
        ready: dict[str, list[tuple[CrmLeadLink, LinkInput]]] = {}
        for link in links:
            source, target = leads.get(link.from_lead_id), leads.get(link.to_lead_id)
            ends = (source.external_id if source else link.from_lead_id, target.external_id if target else link.to_lead_id)
            name = f"link {ends[0]}→{ends[1]}"
            if source is None or target is None:
                self._fail(link, "one of the two leads no longer exists")
                self.tally.add(name, "failed", "one of the two leads no longer exists")
                continue
            waiting = [lead for lead in (source, target) if provider_id(lead) is None]
            if waiting:  # stays pending: the next push, once the record is created, writes it
                why = f"waiting for {waiting[0].object_type} lead #{waiting[0].id} to be created in the CRM"
                link.note = why if not self.dry_run else link.note
                self.tally.add(name, "skipped", why)
                continue
            item = LinkInput(link.id, str(provider_id(source)), str(provider_id(target)), link.label)
            ready.setdefault(target.object_type, []).append((link, item))
        for to_type, pairs in ready.items():
            if self.dry_run:
                for link, item in pairs:
                    self.tally.add(f"link {item.from_id}→{item.to_id}", "created",
                                   f"would associate {self.object_type} {item.from_id} with {to_type} {item.to_id}"
                                   + (f" as '{link.label}'" if link.label else ""))
                continue
            results = {r.ref: r for r in self.session.associate(self.object_type, to_type, [p[1] for p in pairs])}
            for link, item in pairs:
                result, name = results.get(link.id), f"link {item.from_id}→{item.to_id}"
                if result is None or result.error:
                    why = result.error if result is not None and result.error else "the CRM did not confirm it"
                    self._fail(link, why)
                    self.tally.add(name, "failed", why)
                else:
                    link.status, link.note, link.run_id, link.done_at = ChangeStatus.WRITTEN.value, "", self.run_id, utcnow()
                    self.tally.add(name, "created", f"associated{' as ' + repr(link.label) if link.label else ''}")
