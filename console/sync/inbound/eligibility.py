"""Per-job eligibility: only records matching property conditions sync; the rest are ignored
(counted as unchanged) with the reason."""
from __future__ import annotations

from typing import Any

OPS = {
    "eq": lambda v, want: v == str(want),
    "neq": lambda v, want: v != str(want),
    "in": lambda v, want: v in {str(w) for w in want},
    "not_in": lambda v, want: v not in {str(w) for w in want},
    "present": lambda v, want: v not in (None, ""),
    "absent": lambda v, want: v in (None, ""),
}


def validate_conditions(conditions: Any) -> list[str]:
    problems = []
    for i, cond in enumerate(conditions or []):
        if not isinstance(cond, dict) or cond.get("op") not in OPS or not cond.get("field"):
            problems.append(f"condition {i + 1}: needs a field and an op among {sorted(OPS)}")
    return problems


def ineligible_reason(properties: dict, conditions: list | None) -> str | None:
    for cond in conditions or []:
        raw = properties.get(cond["field"])
        value = None if raw is None else str(raw)
        if not OPS[cond["op"]](value, cond.get("value", cond.get("values"))):
            want = cond.get("value", cond.get("values", ""))
            return f"{cond['field']} {cond['op']} {want} does not hold"
    return None
