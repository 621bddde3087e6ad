"""A provider account's call budget shared by every process of the fleet, kept in the database.

Each lane of an account (its main window, HubSpot's search) is one row holding the next free send slot
on the database's clock. A call reserves the slot with one UPDATE (the row lock serialises processes),
moving it on by the spacing, and sleeps until its slot: calls of the whole fleet are spaced evenly, so
no rolling window ever holds more than it allows, with no burst to collide. The spacing is learned from
the provider's answers: a window of N calls in W seconds is spaced (W + guard) / (N - 1), which uses
about 98 % of it and leaves one call of room for a send that arrives a little late. A 429 pushes the
slot back for every process. A process that cannot reach the budget's database does not call.

The budget lives in the console's database, or, on SQLite, in a file of its own beside it (a sync's
page transaction holds SQLite's one write lock, and a reservation must not wait for it).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.functions import FunctionElement

from ..connectors.base import RetriableError
from ..connectors.budget import API, CallBudget, RateReading, local_budget
from ..models import ProviderCallBudget
from ..models.base import table

GUARD_MS = 100.0             # added to the window: a send's arrival is a little later than its slot
DAILY_WRITE_EVERY_S = 5.0    # how often one process shares what the daily headers say
DAILY_RECHECK_S = 600.0      # a spent daily budget: calls may ask again after this long
MAX_WAIT_S = 300.0           # a slot further ahead than this fails the call instead of holding a thread
CONTENDED_TRIES = 5          # a deadlock or lock wait with another process is tried again this often
PROCESS_LOCAL = "process"    # CALL_BUDGET_URL for a budget in this process's memory only

budgets = table(ProviderCallBudget)
T = TypeVar("T")


class db_now(FunctionElement):
    """The database's clock as epoch seconds with a fraction: every process measures slots by it."""

    type = sa.Double()
    inherit_cache = True


@compiles(db_now)
def _now_sqlite(element, compiler, **kw) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


@compiles(db_now, "mysql")
@compiles(db_now, "mariadb")
def _now_mysql(element, compiler, **kw) -> str:
    return "UNIX_TIMESTAMP(NOW(6))"


@compiles(db_now, "postgresql")
def _now_postgresql(element, compiler, **kw) -> str:
    return "EXTRACT(EPOCH FROM clock_timestamp())"


def spacing_ms(per_window: int, window_ms: float, guard_ms: float = GUARD_MS) -> float:
    return (window_ms + guard_ms) / max(1, per_window - 1)


def _contended(exc: DBAPIError) -> bool:
    """MariaDB's deadlock (1213) and lock wait timeout (1205), SQLite's busy, a pooled connection the server
    closed (the pool drops it): worth another try, not an outage."""
    code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    return code in (1205, 1213) or "database is locked" in str(exc.orig) or exc.connection_invalidated


def _retrying(work: Callable[[], T]) -> T:
    for attempt in range(CONTENDED_TRIES):
        try:
            return work()
        except DBAPIError as exc:
            if not _contended(exc) or attempt == CONTENDED_TRIES - 1:
                raise _unreachable(exc) from None
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")  # the loop returns or raises


def _unreachable(exc: Exception) -> RetriableError:
    return RetriableError("The call budget's database cannot be reached, so no call is sent to the provider "
                          f"({type(exc).__name__}); the run is tried again later.")


class SharedBudget:
    """The `CallBudget` of one account, every lane a row of provider_call_budgets."""

    def __init__(self, engine: Engine, account_key: str, lanes: dict[str, tuple[int, float]]) -> None:
        self.engine, self.account_key, self.lanes = engine, account_key, lanes
        self.daily_limit: int | None = None
        self.daily_remaining: int | None = None
        self.daily_observed_at: datetime | None = None
        self.waited_s = 0.0
        self._window: tuple[int, int] | None = None   # (per_window, window_ms) last written by this process
        self._daily_written = 0.0

    def _key(self, lane: str) -> str:
        return f"{self.account_key}|{lane}"

    def acquire(self, lane: str = API) -> None:
        key = self._key(lane)
        wait = _retrying(lambda: self._reserve(key, lane))
        if wait > MAX_WAIT_S:
            raise RetriableError(f"The account's call budget is booked {wait / 60:.0f} minutes ahead; "
                                 "the run is tried again later.")
        if wait > 0:
            self.waited_s += wait
            time.sleep(wait)

    def _reserve(self, key: str, lane: str) -> float:
        """Take the lane's next slot; the seconds until it. The row is made, in a transaction of its own,
        on the account's first call (an UPDATE that found no row holds a gap lock on MariaDB: inserting in
        the same transaction would deadlock with another process doing the same)."""
        t = budgets.c
        start = sa.case((t.next_slot > db_now(), t.next_slot), else_=db_now())
        left = sa.or_(t.daily_remaining.is_(None), t.daily_remaining > 0, t.daily_at < db_now() - DAILY_RECHECK_S)
        for _ in range(2):
            with self.engine.begin() as conn:
                done = conn.execute(sa.update(budgets).where(t.key == key, left)
                                    .values(next_slot=start + t.spacing_ms / 1000.0))
                if done.rowcount:
                    return float(conn.scalar(sa.select(t.next_slot - t.spacing_ms / 1000.0 - db_now())
                                             .where(t.key == key)) or 0.0)
                exists = conn.scalar(sa.select(t.key).where(t.key == key)) is not None
            if exists:
                raise RetriableError("The provider's daily call budget for this account is used up (an answer "
                                     "in the last 10 minutes said 0 remaining); syncs resume when it is back.")
            self._create(key, lane)
        return 0.0  # the row vanished between our two looks (a wipe): this one call goes unpaced

    def _create(self, key: str, lane: str) -> None:
        """The lane's row; another process making it first is as good."""
        calls, seconds = self.lanes.get(lane, (0, 0.0))
        spacing = (seconds * 1000 + 50.0) / calls if calls else 0.0  # a fixed lane has no headers to fall short of
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(budgets).values(key=key, next_slot=db_now(), spacing_ms=spacing))
        except IntegrityError:
            pass

    def observe(self, reading: RateReading) -> None:
        values: dict = {}
        if reading.per_window and reading.window_s and (reading.per_window, int(reading.window_s * 1000)) != self._window:
            self._window = (reading.per_window, int(reading.window_s * 1000))
            values.update(per_window=reading.per_window, window_ms=self._window[1],
                          spacing_ms=spacing_ms(*self._window))
        if reading.remaining == 0:  # something outside this fleet used the window: leave it a slot
            t = budgets.c
            values["next_slot"] = sa.case((t.next_slot > db_now() + t.spacing_ms / 1000.0, t.next_slot),
                                          else_=db_now() + t.spacing_ms / 1000.0)
        if reading.daily_remaining is not None:
            self.daily_remaining = reading.daily_remaining
            self.daily_limit = reading.daily_limit or self.daily_limit
            self.daily_observed_at = datetime.now(UTC).replace(tzinfo=None)
            if reading.daily_remaining <= 0 or time.monotonic() - self._daily_written >= DAILY_WRITE_EVERY_S:
                self._daily_written = time.monotonic()
                values.update(daily_at=db_now(), daily_limit=self.daily_limit, daily_remaining=reading.daily_remaining)
        if values:
            self._update(API, values)

    def backoff_after_429(self) -> float:
        return 1.0

    def hold(self, seconds: float) -> None:
        t = budgets.c
        until = db_now() + seconds
        self._update(API, {"next_slot": sa.case((t.next_slot > until, t.next_slot), else_=until)})

    def _update(self, lane: str, values: dict) -> None:
        def update() -> None:
            with self.engine.begin() as conn:
                conn.execute(sa.update(budgets).where(budgets.c.key == self._key(lane)).values(**values))

        _retrying(update)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _engine(url: str) -> Engine:
    """One small pool per budget database and process; a SQLite file of its own gets its table here."""
    with _engines_lock:
        if url not in _engines:
            if url.startswith("sqlite"):
                engine = sa.create_engine(url, connect_args={"timeout": 30})
                sa.event.listen(engine, "connect", _sqlite_pragmas)
                with engine.begin() as conn:  # IF NOT EXISTS: processes starting together race to make it
                    conn.execute(CreateTable(budgets, if_not_exists=True))
            else:
                engine = sa.create_engine(url, pool_size=2, max_overflow=8, pool_recycle=280)
            _engines[url] = engine
        return _engines[url]


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def budget_for(url: str, account_key: str, lanes: dict[str, tuple[int, float]]) -> CallBudget:
    """The account's budget, shared through the database at `url` (PROCESS_LOCAL: this process's own)."""
    if url == PROCESS_LOCAL:
        return local_budget(account_key, lanes)
    try:
        return SharedBudget(_engine(url), account_key, lanes)
    except DBAPIError as exc:
        raise _unreachable(exc) from None


def dispose() -> None:
    """Close every budget database's connections (a test's temporary files, a process shutting down)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
