"""Read a CSV upload safely: UTF-8 (with any number of BOMs), UTF-16 or Latin-1, the delimiter detected, quoted
fields with newlines, and the whole file checked before anything is imported, so a malformed file
gets one clear error and changes nothing."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from ...refusals import Refused

DELIMITERS = ",;\t|"
SNIFF_BYTES, SNIFF_ROWS = 64 * 1024, 50
MAX_COLUMNS = 200
MAX_FIELD = 100_000
csv.field_size_limit(MAX_FIELD)


class CsvRejected(Refused, ValueError):
    """The file cannot be imported; the message says why and where."""


@dataclass(frozen=True)
class CsvFacts:
    encoding: str
    delimiter: str
    header: list[str]
    row_count: int


BOM = "\ufeff"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding to read the stored file with: UTF-16 (with or without its BOM), UTF-8
    (with any number of BOMs), or Latin-1 when no line is UTF-8. A file mixing UTF-8 lines with
    lines in another encoding is refused with the line number: read either way, part of it would be
    stored garbled."""
    encoding = _utf16(data)
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise CsvRejected(f"The file looks like UTF-16 but byte {exc.start} is not: save it again as UTF-8.") from exc
        return text.lstrip(BOM), encoding
    try:
        text = data.decode("utf-8")
        return text.lstrip(BOM), "utf-8-sig" if text.startswith(BOM) else "utf-8"
    except UnicodeDecodeError:
        pass
    utf8_line, other_line = None, None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_line = utf8_line or number
        except UnicodeDecodeError:
            other_line = other_line or number
        if utf8_line and other_line:
            raise CsvRejected(f"Line {other_line} is not UTF-8, but line {utf8_line} is: the file mixes encodings, "
                              "so some names would be stored garbled. Save it again as UTF-8.")
    return data.decode("latin-1"), "latin-1"  # every byte is a Latin-1 character: never fails


def _utf16(data: bytes) -> str | None:
    """'utf-16' for a file with a UTF-16 BOM; 'utf-16-le'/'-be' for one without, recognised by the
    zero byte beside every ASCII character (a CSV's header is ASCII or nearly)."""
    if data[:2] in UTF16_BOMS:
        return "utf-16"
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def sniff(text: str) -> str:
    """The delimiter that splits the first rows into the same number of columns (more than one), most
    consistently. Linear in a bounded sample: csv.Sniffer's regular expressions take tens of seconds on
    hostile input such as a long run of `',`, and block the server meanwhile."""
    sample = text[:SNIFF_BYTES]
    cut = len(text) > len(sample)
    best, best_score = ",", 0.0
    for delimiter in DELIMITERS:
        try:
            found = list(islice(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), SNIFF_ROWS + 1))
        except csv.Error:
            continue
        if cut and len(found) > 1:
            found = found[:-1]  # the sample may end inside a row
        widths = [len(r) for r in found[:SNIFF_ROWS] if r and r != [""]]
        if not widths or widths[0] < 2:
            continue
        score = sum(w == widths[0] for w in widths) / len(widths) * 1000 + min(widths[0], MAX_COLUMNS)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def rows(text: str, delimiter: str) -> Any:  # a csv reader: rows, and line_num for messages
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def inspect(data: bytes) -> CsvFacts:
    """Check the whole file; raise CsvRejected with the line of the first problem."""
    if not data.strip():
        raise CsvRejected("The file is empty.")
    text, encoding = decode(data)
    if "\x00" in text[:4096]:
        raise CsvRejected("This is not a text CSV file (it contains binary data; was it saved as .xlsx?).")
    delimiter = sniff(text)
    reader = rows(text, delimiter)
    try:
        header = [h.strip() for h in next(reader)]
        if not any(header):
            raise CsvRejected("The first line must name the columns.")
        if len(header) > MAX_COLUMNS:
            raise CsvRejected(f"The file has {len(header)} columns; at most {MAX_COLUMNS} are supported.")
        blank = [i + 1 for i, h in enumerate(header) if not h]
        if blank:
            raise CsvRejected(f"Column {blank[0]} has no name in the first line.")
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise CsvRejected(f"Two columns are named “{dupes[0]}”; column names must be unique.")
        count = 0
        for record in reader:
            if not record or record == [""]:
                continue
            count += 1
            if len(record) != len(header):
                raise CsvRejected(f"Line {reader.line_num}: {len(record)} fields, but the header has {len(header)}. "
                                  "Check for an unclosed quote or a stray delimiter.")
    except csv.Error as exc:
        raise CsvRejected(f"Line {reader.line_num}: {exc}.") from exc
    if count == 0:
        raise CsvRejected("The file has a header but no rows.")
    return CsvFacts(encoding, delimiter, header, count)


def records(path: Path, facts: CsvFacts) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row as {column: value}) for every non-empty row, header excluded, read from the
    stored file as it goes: the whole file decoded into a StringIO held four bytes a character (a 30 MB
    upload cost 150 MB). The file was checked whole, in the same encoding, when it was uploaded."""
    with open(path, encoding=facts.encoding, newline="") as fh:  # the header line (and any BOMs) is skipped
        reader = csv.reader(fh, delimiter=facts.delimiter, strict=True)
        next(reader)
        for record in reader:
            if not record or record == [""]:
                continue
            yield reader.line_num, dict(zip(facts.header, record))
