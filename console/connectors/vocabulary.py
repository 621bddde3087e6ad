"""What the mapping layer must know of a provider's own names, handed over by its connector: the default
mapping of each object it offers, the properties it sets itself, the names it gives the console's fields,
the properties every record has (owner, times, id), and how its property types read. The mapping layer
asks the registry for a connection's vocabulary, so no provider's field name is written outside its
connector's folder (issue 38: a second CRM brings a vocabulary, not an `if provider ==`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class FieldSpec(NamedTuple):
    """One default field mapping: the provider's property, the console's target, the transform."""

    source: str
    target: str
    transform: str = "trim"
    args: dict | None = None
    required: bool = False
    sensitive: bool = False


@dataclass(frozen=True)
class Vocabulary:
    # object type -> its default field mappings; and the picklists among them mapped through enum tables
    default_fields: dict[str, list[FieldSpec]] = field(default_factory=dict)
    enum_fields: dict[str, list[str]] = field(default_factory=dict)
    # the standard objects offered beside the console's core three (the wizard's "More objects")
    more_objects: tuple[str, ...] = ()
    # properties the provider sets itself: never written, whatever their metadata says
    read_only: frozenset[str] = frozenset()
    # a console field -> the provider's names for it (the mapping step's suggestions)
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # a property every record has -> the console field it fills (owner, creation and modification times)
    record_frame: dict[str, str] = field(default_factory=dict)
    # the property holding a record's own id (never one of a custom object's fields)
    record_id: str = ""
    # a property type -> the transform a custom object's field of that type is mapped through, and the kind
    # of field it becomes
    type_transforms: dict[str, str] = field(default_factory=dict)
    type_kinds: dict[str, str] = field(default_factory=dict)
    # the scope a write of an object type needs ("{object_type}" filled in; "" : the provider grants no such scope)
    write_scope: str = ""
    # whether the console writes to this provider at all (a field's direction may be more than "in")
    writes: bool = True


NONE = Vocabulary()  # a connector whose records are not read through a mapping of provider properties
