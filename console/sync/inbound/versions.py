"""The version of every record a run applied, in about 16 bytes a record.

A run remembers every record it applied (newest wins across pages), so the map grows with the run:
a dict of int to int costs about 100 bytes an entry (10 MB at 100,000 records, 100 MB at a million).
Canonical decimal ids (HubSpot's) live in an `IntMap` (two `array('q')` columns under open
addressing); any other id (a CSV's, a webhook's) in a plain dict beside it.
"""
from __future__ import annotations

from array import array

_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing: spreads keys that share their low bits
_MASK64 = (1 << 64) - 1
_MAX_ID = 10 ** 18  # decimal ids below this fit a signed 64-bit slot as id + 1 (0 marks an empty one)


class IntMap:
    """Positive 63-bit int -> 63-bit int, 16 bytes an entry at most two-thirds full (linear probing)."""

    def __init__(self, bits: int = 12) -> None:
        self._count = 0
        self._allocate(bits)

    def get(self, key: int) -> int | None:
        i = self._slot(key)
        return self._values[i] if self._keys[i] else None

    def put(self, key: int, value: int) -> None:
        if not 0 < key < 1 << 63:
            raise ValueError(f"key {key} out of range")
        i = self._slot(key)
        if not self._keys[i]:
            if (self._count + 1) * 3 > len(self._keys) * 2:
                self._grow()
                i = self._slot(key)
            self._keys[i] = key
            self._count += 1
        self._values[i] = value

    def __len__(self) -> int:
        return self._count

    @property
    def table_bytes(self) -> int:
        return self._keys.itemsize * len(self._keys) * 2

    def _slot(self, key: int) -> int:
        """Where `key` is, or the empty slot where it would go."""
        keys, mask = self._keys, self._mask
        i = ((key * _GOLDEN) & _MASK64) >> self._shift
        while True:
            k = keys[i]
            if k == key or not k:
                return i
            i = (i + 1) & mask

    def _allocate(self, bits: int) -> None:
        self._keys = array("q", bytes(8 << bits))
        self._values = array("q", bytes(8 << bits))
        self._mask, self._shift = (1 << bits) - 1, 64 - bits

    def _grow(self) -> None:
        keys, values = self._keys, self._values
        self._allocate(64 - self._shift + 1)
        for key, value in zip(keys, values, strict=True):
            if key:
                i = self._slot(key)
                self._keys[i], self._values[i] = key, value


class Versions:
    """Record id -> version, where a version packs (modified ms, archived) into one ordered integer."""

    def __init__(self, bits: int = 12) -> None:
        self._ints = IntMap(bits)
        self._other: dict[str, int] = {}

    @staticmethod
    def pack(updated_ms: int | None, archived: bool) -> int:
        return (updated_ms or 0) * 2 + (1 if archived else 0)

    def get(self, external_id: str) -> int | None:
        key = _key(external_id)
        return self._other.get(external_id) if key is None else self._ints.get(key)

    def put(self, external_id: str, updated_ms: int | None, archived: bool) -> None:
        version, key = self.pack(updated_ms, archived), _key(external_id)
        if key is None:
            self._other[external_id] = version
        else:
            self._ints.put(key, version)

    def forget(self, external_id: str) -> None:
        """Let the next copy of a record apply whatever its version (version 0 is below every real one)."""
        if external_id in self:
            self.put(external_id, None, False)

    def __contains__(self, external_id: object) -> bool:
        return isinstance(external_id, str) and self.get(external_id) is not None

    def __len__(self) -> int:
        return len(self._ints) + len(self._other)


def _key(external_id: str) -> int | None:
    """A canonical decimal id as its slot key (id + 1), or None for any other id."""
    if external_id.isascii() and external_id.isdigit() and (external_id[0] != "0" or external_id == "0"):
        number = int(external_id)
        if number < _MAX_ID:
            return number + 1
    return None
