"""The archive: gzip JSON Lines per table and day under CONSOLE_ARCHIVE_DIR, one file per batch
(`<table>/<day>/<first id>-<last id>.jsonl.gz`, so a batch archived again after a crash overwrites its
own file), and `manifest.jsonl` with each file's rows and SHA-256. Values of sensitive fields never
reach a file: a key named as sensitive is dropped wherever it appears, a webhook event's value of a
sensitive property is dropped, and secret-looking keys are masked."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..models.base import utcnow
from ..security.redact import redact

MANIFEST = "manifest.jsonl"


def scrub(value: Any, sensitive: set[str]) -> Any:
    """`value` without the sensitive fields' values (names compared case-insensitively)."""
    if isinstance(value, dict):
        named = str(value.get("propertyName", "")).lower() in sensitive
        return {k: scrub(v, sensitive) for k, v in value.items()
                if str(k).lower() not in sensitive and not (named and k in ("propertyValue", "value"))}
    if isinstance(value, list):
        return [scrub(v, sensitive) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def row_dict(row: Any, sensitive: set[str]) -> dict:
    """A row as JSON-ready columns, scrubbed."""
    columns = row.__table__.columns
    out = {c.key: _plain(getattr(row, c.key)) for c in columns}
    return redact(scrub(out, sensitive))


def write(folder: Path, table: str, day: str, rows: list[dict]) -> dict:
    """Write one batch's rows of one day (atomically: a temporary file renamed), append its manifest
    line, and return that line."""
    target = folder / table / day / f"{rows[0]['id']:012d}-{rows[-1]['id']:012d}.jsonl.gz"
    for level in (folder / table, target.parent):  # mkdir(parents=True) gives parents the umask's 0755
        level.mkdir(mode=0o700, exist_ok=True)
        if level.stat().st_mode & 0o077:
            level.chmod(0o700)
    body = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n" for r in rows)
    data = gzip.compress(body.encode("utf-8"), mtime=0)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    entry = {"table": table, "day": day, "file": str(target.relative_to(folder)), "rows": len(rows),
             "sha256": hashlib.sha256(data).hexdigest(), "first_id": rows[0]["id"], "last_id": rows[-1]["id"],
             "archived_at": utcnow().isoformat(timespec="seconds")}
    manifest = os.open(folder / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(manifest, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return entry


def by_day(rows: Iterable[dict], time_column: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(str(r.get(time_column) or "undated")[:10], []).append(r)
    return out


def verify(folder: Path) -> list[str]:
    """Every manifest line's file exists with its SHA-256 and row count; the problems, if any."""
    problems = []
    manifest = folder / MANIFEST
    if not manifest.exists():
        return []
    latest: dict[str, dict] = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        latest[entry["file"]] = entry  # a batch archived again after a crash: its last line counts
    for name, entry in latest.items():
        path = folder / name
        if not path.exists():
            problems.append(f"{name}: missing")
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{name}: SHA-256 differs")
        elif len(gzip.decompress(data).splitlines()) != entry["rows"]:
            problems.append(f"{name}: row count differs")
    return problems
