"""What an attached sample or API document says about the source's fields: names, types and picklist
values. A sample CSV, JSON sample payloads, or an OpenAPI 3 / Swagger 2 document (JSON or YAML).
Only names, types and a few repeated values are kept; the file itself is never shown to a client."""
from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import yaml

from ..connectors.manual_csv.reader import sniff

MAX_FIELDS = 500
MAX_ROWS = 2000  # rows or records read to infer types
PICKLIST_MAX = 12  # at most this many distinct values, each seen at least twice, make a picklist
MAX_NODES = 200_000  # a YAML document's nodes as its aliases expand them: more is an alias bomb, refused
MAX_VALUE_CHARS = 200  # an enum value longer than this is cut


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting each node as many times as aliases repeat it: a 412-byte document of
    nine anchors aliased nine times each expands to 9**9 nodes, which every later walk would pay for."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._weights: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        node = super().compose_node(parent, index)
        if id(node) not in self._weights:
            children = (node.value if isinstance(node, yaml.SequenceNode) else
                        [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
            weight = 1 + sum(self._weights.get(id(c), 1) for c in children)
            if weight > MAX_NODES:
                raise SampleRejected(f"The document repeats itself through aliases beyond {MAX_NODES:,} values; "
                                     "it was not read.")
            self._weights[id(node)] = weight
        return node


class SampleRejected(ValueError):
    """The file cannot be read as what it claims to be; the message says why, without quoting it."""


def read(name: str, data: bytes) -> tuple[str, list[dict]]:
    """(kind, fields) for an attached file, by its content (the name's extension only breaks ties).
    Whatever the file holds, the answer is fields or SampleRejected with the reason, never a crash."""
    try:
        return _read(name, data)
    except SampleRejected:
        raise
    except RecursionError as exc:
        raise SampleRejected("The file nests too deeply to read.") from exc
    except (csv.Error, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise SampleRejected(f"The file could not be read as a sample ({type(exc).__name__}).") from exc


def _read(name: str, data: bytes) -> tuple[str, list[dict]]:
    text = _text(data)
    lowered = name.lower()
    if lowered.endswith(".csv") or lowered.endswith(".tsv"):
        return "csv", from_csv(text)
    doc = _document(text)
    if isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc):
        return "openapi", from_openapi(doc)
    if lowered.endswith((".yaml", ".yml")):
        raise SampleRejected("The YAML file is not an OpenAPI or Swagger document (no 'openapi' or 'swagger' key).")
    return "json", from_json(doc)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _document(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    loader = None
    try:
        loader = _BoundedLoader(text)
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise SampleRejected("The file is neither JSON nor YAML"
                             + (f" (line {exc.problem_mark.line + 1})." if getattr(exc, "problem_mark", None) else ".")) from exc
    finally:
        if loader is not None:
            loader.dispose()


# ---- CSV ----------------------------------------------------------------------------------------------
def from_csv(text: str) -> list[dict]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=sniff(text))  # linear: csv.Sniffer is not
    try:
        header = [h.strip() for h in next(rows)]
    except StopIteration:
        raise SampleRejected("The CSV file is empty.") from None
    if not any(header):
        raise SampleRejected("The CSV file's first line (the header) is empty.")
    columns: list[list[str]] = [[] for _ in header]
    for i, row in enumerate(rows):
        if i >= MAX_ROWS:
            break
        for j, value in enumerate(row[:len(header)]):
            columns[j].append(value.strip())
    return [{"name": name, "type": infer(values), "values": picklist(values), "source": ""}
            for name, values in zip(header, columns) if name][:MAX_FIELDS]


# ---- JSON samples ------------------------------------------------------------------------------------
def from_json(doc: Any) -> list[dict]:
    records = _records(doc)
    if not records:
        raise SampleRejected("The JSON holds no object to read fields from (an object, or a list of objects).")
    seen: dict[str, list[Any]] = {}
    for record in records[:MAX_ROWS]:
        for path, value in _flatten(record):
            seen.setdefault(path, []).append(value)
    return [{"name": path, "type": infer(values), "values": picklist(values), "source": ""}
            for path, values in seen.items()][:MAX_FIELDS]


def _records(doc: Any) -> list[dict]:
    """The objects of a sample: a list of them, one of them, or a list under a key (results, data, items...)."""
    if isinstance(doc, list):
        return [r for r in doc if isinstance(r, dict)]
    if isinstance(doc, dict):
        for value in doc.values():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return value
        return [doc]
    return []


def _flatten(record: dict, prefix: str = "", depth: int = 0) -> Iterable[tuple[str, Any]]:
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and depth < 2:
            yield from _flatten(value, f"{path}.", depth + 1)
        else:
            yield path, value


# ---- OpenAPI ------------------------------------------------------------------------------------------
def from_openapi(doc: dict) -> list[dict]:
    schemas = ((doc.get("components") or {}).get("schemas") if "openapi" in doc else doc.get("definitions")) or {}
    if not isinstance(schemas, dict):
        raise SampleRejected("The document's schemas are not a mapping of names to schemas.")
    out: list[dict] = []
    for schema_name, schema in schemas.items():
        props = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(props, dict):
            continue
        for name, prop in props.items():
            prop = prop if isinstance(prop, dict) else {}
            kind = "reference" if "$ref" in prop else _openapi_type(prop)
            enum = prop.get("enum")
            values = [str(v)[:MAX_VALUE_CHARS] for v in enum[:50] if isinstance(v, (str, int, float))] \
                if isinstance(enum, list) else []
            out.append({"name": str(name), "type": kind, "values": values, "source": str(schema_name)})
            if len(out) >= MAX_FIELDS:
                return out
    if not out:
        raise SampleRejected("The document defines no schema with properties (components.schemas or definitions).")
    return out


def _openapi_type(prop: dict) -> str:
    kind, fmt = str(prop.get("type") or "text"), str(prop.get("format") or "")
    if fmt in ("date", "date-time", "email"):
        return {"date-time": "datetime"}.get(fmt, fmt)
    return {"string": "text", "integer": "number", "number": "number", "boolean": "boolean",
            "array": "list", "object": "object"}.get(kind, "text")


# ---- types and picklists -------------------------------------------------------------------------------
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
PHONE = re.compile(r"\+?[\d\s().-]{7,20}")
BOOLEAN = frozenset({"true", "false", "yes", "no"})


def infer(values: list[Any]) -> str:
    """The type every non-empty value fits: boolean, number, date, datetime, email, phone, list, object or text."""
    present = [v for v in values if v not in (None, "")]
    if not present:
        return "unknown"
    if all(isinstance(v, bool) or str(v).lower() in BOOLEAN for v in present):
        return "boolean"
    if all(isinstance(v, list) for v in present):
        return "list"
    if all(isinstance(v, dict) for v in present):
        return "object"
    texts = [str(v) for v in present]
    for kind, pattern in (("number", NUMBER), ("date", DATE), ("datetime", DATETIME), ("email", EMAIL), ("phone", PHONE)):
        if all(pattern.fullmatch(t) for t in texts):
            return kind
    return "text"


def picklist(values: list[Any]) -> list[str]:
    """The distinct values of a field that looks like a choice: a few values, each repeated."""
    texts = [str(v) for v in values if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v) != ""]
    counts = Counter(texts)
    if len(texts) < 5 or not counts or len(counts) > PICKLIST_MAX or min(counts.values()) < 2:
        return []
    if infer(texts) in ("number", "date", "datetime", "email", "phone"):
        return []
    return [value for value, _ in counts.most_common()]
