"""HubSpot's cursor paging, written once: every list read follows `paging.next.after` through `Pages`.

Like the Meltano SDK's paginators, it refuses a token it has already followed: a provider (or a proxy) that
hands back an earlier token would otherwise page the same records forever, counting them each time."""
from __future__ import annotations

from typing import Any

from ..base import FatalError


class PagingLoop(FatalError):
    code = "provider_paging_loop"


class Pages:
    """The position of one paged read: `token` to send (None for the first page), `advance(reply)` after
    each reply, `finished` once a reply names no next page."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or None
        self.finished = False
        self._seen: set[str] = {self.token} if self.token else set()

    def params(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with this page's token."""
        return {**params, "after": self.token} if self.token else dict(params)

    def advance(self, reply: dict[str, Any]) -> str | None:
        """Take the next token from `reply` (None: that was the last page). A token already followed
        raises PagingLoop."""
        nxt = ((reply.get("paging") or {}).get("next") or {}).get("after")
        token = str(nxt) if nxt not in (None, "") else None
        if token is None:
            self.finished, self.token = True, None
            return None
        if token in self._seen:
            raise PagingLoop(f"HubSpot returned the paging token {token[:40]!r} a second time; the read stopped "
                             "instead of reading the same records again.")
        self._seen.add(token)
        self.token = token
        return token
