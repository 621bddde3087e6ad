"""One refusal type. A service that will not make a change raises `Refused` (or one of its kinds) with a
message for the person who asked: beside `field` when it concerns one form field, with `reasons` when
there are several. Views put it beside its field (`console.answers.beside`); one that escapes a view
becomes a 422 that shows the message (`console.answers.refused`). Plain Python: the engine raises it too."""
from __future__ import annotations

from collections.abc import Iterable


class Refused(Exception):
    def __init__(self, message: str = "", field: str | None = None, reasons: Iterable[str] = ()) -> None:
        reasons = tuple(reasons)
        message = message or "; ".join(reasons)
        super().__init__(message)
        self.message, self.field = message, field
        self.reasons = reasons or ((message,) if message else ())
