"""SOQL for the query shapes connectors and the common clients send:

    SELECT field, … | COUNT() FROM Object [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], …]
    [LIMIT n] [OFFSET n]

A condition is `field op value` (=, !=, <>, <, <=, >, >=, LIKE, IN (…), NOT IN (…)) joined by AND / OR,
negated by NOT, grouped by parentheses. Values: 'quoted text', numbers, true / false / null, datetimes
(2024-05-01T00:00:00Z, with milliseconds or an offset) and dates. Keywords and field names are
case-insensitive. Anything else is a MALFORMED_QUERY, as Salesforce answers; the text is bounded (100,000
characters, as Salesforce's own limit) and so is its nesting."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_LENGTH, MAX_DEPTH, MAX_IN = 100_000, 40, 4_000
TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*')
    |(?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),])
    |(?P<word>[A-Za-z_][A-Za-z0-9_.]*))""", re.X)
KEYWORDS = {"select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc", "desc", "nulls",
            "first", "last", "limit", "offset", "true", "false", "null", "count"}


class Malformed(ValueError):
    pass


@dataclass
class Query:
    object_name: str
    fields: list[str]                 # as written; [] for COUNT()
    count: bool = False
    where: Callable[[dict], bool] | None = None
    order: list[tuple[str, bool, bool]] = field(default_factory=list)  # (field, descending, nulls first)
    limit: int | None = None
    offset: int = 0


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise Malformed(f"unexpected token: '{text[pos:pos + 20].strip()}'")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _datetime(text: str) -> str:
    """A datetime literal in the org's stored form (UTC, milliseconds), which sorts as instants do."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Malformed(f"not a valid datetime: {text[:40]}") from exc
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


Resolver = Callable[[str], Callable[[str], str]]  # object name -> (a field as written -> its canonical name)


class _Parser:
    def __init__(self, text: str, resolver: Resolver) -> None:
        if len(text) > MAX_LENGTH:
            raise Malformed(f"the query is longer than {MAX_LENGTH:,} characters")
        self.toks, self.i, self.resolver = _tokens(text), 0, resolver
        self.resolve: Callable[[str], str] = lambda name: name

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        return self.toks[self.i + ahead] if self.i + ahead < len(self.toks) else ("end", "")

    def word(self, *wanted: str) -> bool:
        kind, text = self.peek()
        if kind == "word" and text.lower() in wanted:
            self.i += 1
            return True
        return False

    def expect(self, *wanted: str) -> None:
        if not self.word(*wanted):
            raise Malformed(f"expected {wanted[0].upper()} at '{self.peek()[1] or 'the end'}'")

    def punct(self, char: str) -> bool:
        if self.peek() == ("punct", char):
            self.i += 1
            return True
        return False

    def name(self) -> str:
        """A field name, as the object names it (after FROM; the select list is resolved once FROM is read)."""
        kind, text = self.peek()
        if kind != "word" or text.lower() in KEYWORDS:
            raise Malformed(f"expected a field name at '{text or 'the end'}'")
        self.i += 1
        return self.resolve(text)

    def parse(self) -> Query:
        self.expect("select")
        fields, count = [], False
        if self.peek()[1].lower() == "count" and self.peek(1) == ("punct", "("):
            self.i += 1
            self.punct("(")
            if not self.punct(")"):
                raise Malformed("only COUNT() is supported")
            count = True
        else:
            fields.append(self.name())
            while self.punct(","):
                fields.append(self.name())
        self.expect("from")
        kind, obj = self.peek()
        if kind != "word":
            raise Malformed("expected an object name after FROM")
        self.i += 1
        self.resolve = self.resolver(obj)
        query = Query(obj, [self.resolve(f) for f in fields], count)
        if self.word("where"):
            query.where = self.expr(0)
        if self.word("order"):
            self.expect("by")
            while True:
                name = self.name()
                desc = self.word("desc")
                if not desc:
                    self.word("asc")
                nulls_first = not desc  # Salesforce's default: nulls first ascending, last descending
                if self.word("nulls"):
                    nulls_first = self.word("first")
                    if not nulls_first:
                        self.expect("last")
                query.order.append((name, desc, nulls_first))
                if not self.punct(","):
                    break
        if self.word("limit"):
            query.limit = self.integer()
        if self.word("offset"):
            query.offset = self.integer()
            if query.offset > 2000:
                raise Malformed("maximum SOQL offset allowed is 2000")
        if self.peek()[0] != "end":
            raise Malformed(f"unexpected token: '{self.peek()[1]}'")
        return query

    def integer(self) -> int:
        kind, text = self.peek()
        if kind != "num" or not text.isdigit() or len(text) > 9:
            raise Malformed(f"expected a whole number at '{text or 'the end'}'")
        self.i += 1
        return int(text)

    def expr(self, depth: int) -> Callable[[dict], bool]:
        if depth > MAX_DEPTH:
            raise Malformed("the condition is nested too deeply")
        terms = [self.term(depth)]
        while self.word("or"):
            terms.append(self.term(depth))
        return terms[0] if len(terms) == 1 else (lambda r: any(t(r) for t in terms))

    def term(self, depth: int) -> Callable[[dict], bool]:
        factors = [self.factor(depth)]
        while self.word("and"):
            factors.append(self.factor(depth))
        return factors[0] if len(factors) == 1 else (lambda r: all(f(r) for f in factors))

    def factor(self, depth: int) -> Callable[[dict], bool]:
        if self.word("not"):
            inner = self.factor(depth + 1)
            return lambda r: not inner(r)
        if self.punct("("):
            inner = self.expr(depth + 1)
            if not self.punct(")"):
                raise Malformed("expected ')'")
            return inner
        return self.condition()

    def condition(self) -> Callable[[dict], bool]:
        key = self.name()
        negate = self.word("not")
        if self.word("in"):
            if not self.punct("("):
                raise Malformed("expected '(' after IN")
            values = [self.value()]
            while self.punct(","):
                values.append(self.value())
                if len(values) > MAX_IN:
                    raise Malformed(f"more than {MAX_IN} values in IN")
            if not self.punct(")"):
                raise Malformed("expected ')' after the IN list")
            allowed = set(values)
            return (lambda r: r.get(key) not in allowed) if negate else (lambda r: r.get(key) in allowed)
        if negate:
            raise Malformed("expected IN after NOT")
        if self.word("like"):
            pattern = self.value()
            if not isinstance(pattern, str):
                raise Malformed("LIKE needs a quoted pattern")
            regex = re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.I | re.S)
            return lambda r: isinstance(r.get(key), str) and regex.fullmatch(r[key]) is not None
        kind, op = self.peek()
        if kind != "op":
            raise Malformed(f"expected an operator at '{op or 'the end'}'")
        self.i += 1
        value = self.value()
        return _compare(key, op, value)

    def value(self) -> Any:
        kind, text = self.peek()
        self.i += 1
        if kind == "str":
            return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text[1:-1])
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "dt":
            return _datetime(text)
        if kind == "date":
            return text
        if kind == "word" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise Malformed(f"expected a value at '{text or 'the end'}'")


def _compare(key: str, op: str, value: Any) -> Callable[[dict], bool]:
    if op in ("=", "!=", "<>"):
        equal = op == "="
        return lambda r: (_same(r.get(key), value)) == equal
    if value is None:
        raise Malformed(f"null cannot be compared with {op}")
    test = {"<": lambda a: a < value, "<=": lambda a: a <= value, ">": lambda a: a > value, ">=": lambda a: a >= value}[op]

    def compare(r: dict) -> bool:
        current = r.get(key)
        try:
            return current is not None and test(current)
        except TypeError:
            return False
    return compare


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()  # Salesforce compares text case-insensitively
    return a == b


def parse(text: str, resolver: Resolver) -> Query:
    """`resolver(object)` gives the object's field resolver; either raises (an unknown object or field)."""
    if not isinstance(text, str) or not text.strip():
        raise Malformed("the query is empty")
    return _Parser(text, resolver).parse()
