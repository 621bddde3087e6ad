"""A provider account's call budget shared by every process of the fleet, kept in the database.

Each lane of an account (its main window, HubSpot's search) is one row holding the send slots taken in
the last window on the database's clock (a sliding log, as the provider counts). A call locks the row,
takes the first slot at which the window holds fewer calls than it allows, after every slot already
taken, and sleeps until it: a burst goes at once while the window has room, and no rolling window ever
holds more than it allows, whichever processes sent. A window of N calls in W seconds is allowed N - 1
calls in W + 200 ms, about 97 % of it, leaving one call of room for a send that arrives a little late.
The limits are learned from the provider's answers; a 429 holds the lane for every process; a spent
daily budget stops every process asking for 10 minutes. A process that cannot reach the database does
not call.

A burst is spread at four times the window's rate (the provider counts arrivals: 99 calls sent at one
instant reach it spread over its queue, and the next window's would meet the last of them).

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
from .send_log import UNKNOWN_BLOCK, UNKNOWN_BLOCK_S, parse, take_slot, window_rule

LATE_S = 0.1                 # a thread that reaches its slot later than this takes a new one...
LATE_RETRIES = 3             # ...this often, then sends
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


def _contended(exc: DBAPIError) -> bool:
    """MariaDB's deadlock (1213) and lock wait timeout (1205), SQLite's busy, a pooled connection the server
    closed (the pool drops it): worth another try, not an outage."""
    code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    return code in (1205, 1213) or "database is locked" in str(exc.orig) or exc.connection_invalidated


def _later(column: sa.ColumnElement, moment: sa.ColumnElement) -> sa.ColumnElement:
    return sa.case((column > moment, column), else_=moment)


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
        self._window: tuple[int, float] | None = None  # (per window, seconds) as this process last wrote them
        self._daily_written = 0.0
        self._spare: dict[str, tuple[int, float]] = {}  # lane -> (calls logged but not yet sent, until when)
        self._nameless = False  # the last answer named no window (a provider, or a sandbox, without limits)
        self._spare_lock = threading.Lock()

    def _key(self, lane: str) -> str:
        return f"{self.account_key}|{lane}"

    def acquire(self, lane: str = API) -> None:
        """A slot this thread reaches late (a busy process: the GIL, the scheduler) is given up for a new
        one: a call sent long after its slot could meet the next window's calls at the provider."""
        if self._spend_spare(lane):
            return
        key = self._key(lane)
        for _ in range(LATE_RETRIES):
            reserved = time.monotonic()
            wait = _retrying(lambda: self._reserve(key, lane))
            if wait > MAX_WAIT_S:
                raise RetriableError(f"The account's call budget is booked {wait / 60:.0f} minutes ahead; "
                                     "the run is tried again later.")
            if wait > 0:
                self.waited_s += wait
                time.sleep(wait)
            if time.monotonic() - (reserved + max(wait, 0.0)) < LATE_S:
                return

    def _spend_spare(self, lane: str) -> bool:
        """A call of the block the last reservation logged, if one is left and fresh. A block is taken only
        while no limit is known and the last answer named none, when nothing is paced: HubSpot names its
        limit in its first answer, so it never sees one; a provider (or a sandbox) that names none pays one
        reservation per ten calls, not one per call."""
        with self._spare_lock:
            left, until = self._spare.get(lane, (0, 0.0))
            if left <= 0 or time.monotonic() > until:
                return False
            self._spare[lane] = (left - 1, until)
            return True

    def _reserve(self, key: str, lane: str) -> float:
        """Take the lane's next slot; the seconds until it. The first statement locks the row (an UPDATE:
        a row lock on MariaDB, the write lock on SQLite), so the log is read and written by one process at
        a time. The row is made, in a transaction of its own, on the account's first call (an UPDATE that
        found no row holds a gap lock on MariaDB: inserting in the same transaction would deadlock)."""
        t = budgets.c
        left = sa.or_(t.daily_remaining.is_(None), t.daily_remaining > 0, t.daily_at < db_now() - DAILY_RECHECK_S)
        for _ in range(2):
            with self.engine.begin() as conn:
                if conn.execute(sa.update(budgets).where(t.key == key, left).values(held_until=t.held_until)).rowcount:
                    row = conn.execute(sa.select(t.sent, t.allowed, t.window_ms, t.held_until, db_now().label("now"))
                                       .where(t.key == key)).one()
                    now = float(row.now)
                    block = UNKNOWN_BLOCK if self._nameless and not (row.allowed and row.window_ms) else 1
                    slot, kept = take_slot(parse(row.sent), now, float(row.held_until or 0), row.allowed,
                                           row.window_ms, block)
                    if block > 1:
                        with self._spare_lock:
                            self._spare[lane] = (block - 1, time.monotonic() + UNKNOWN_BLOCK_S)
                    conn.execute(sa.update(budgets).where(t.key == key).values(sent=",".join(f"{v:.6f}" for v in kept)))
                    return slot - now
                exists = conn.scalar(sa.select(t.key).where(t.key == key)) is not None
            if exists:
                raise RetriableError("The provider's daily call budget for this account is used up (an answer "
                                     "in the last 10 minutes said 0 remaining); syncs resume when it is back.")
            self._create(key, lane)
        return 0.0  # the row vanished between our two looks (a wipe): this one call goes unpaced

    def _create(self, key: str, lane: str) -> None:
        """The lane's row; another process making it first is as good. A fixed lane (HubSpot's search) is
        allowed all its calls: no header can say a window is fuller than the log knows."""
        calls, seconds = self.lanes.get(lane, (0, 0.0))
        allowed, window_ms = window_rule(calls, seconds, room=0) if calls else (None, None)
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(budgets).values(key=key, sent="", allowed=allowed, window_ms=window_ms,
                                                       held_until=0.0))
        except IntegrityError:
            pass

    def observe(self, reading: RateReading) -> None:
        self._nameless = not reading.per_window
        values: dict = {}
        if reading.per_window and reading.window_s and (reading.per_window, reading.window_s) != self._window:
            self._window = (reading.per_window, reading.window_s)
            values["allowed"], values["window_ms"] = window_rule(reading.per_window, reading.window_s)
        if reading.remaining == 0 and self._window:  # something outside this fleet filled the window
            values["held_until"] = _later(budgets.c.held_until, db_now() + self._window[1] / self._window[0])
        if reading.daily_remaining is not None:
            self.daily_remaining = reading.daily_remaining
            self.daily_limit = reading.daily_limit or self.daily_limit
            self.daily_observed_at = datetime.now(UTC).replace(tzinfo=None)
            if reading.daily_remaining <= 0 or time.monotonic() - self._daily_written >= DAILY_WRITE_EVERY_S:
                self._daily_written = time.monotonic()
                values.update(daily_at=db_now(), daily_limit=self.daily_limit, daily_remaining=reading.daily_remaining)
        if values:
            self._update(API, values)
        if "allowed" in values:  # a limit is known now: no call goes unpaced
            with self._spare_lock:
                self._spare.pop(API, None)

    def backoff_after_429(self) -> float:
        return 1.0

    def hold(self, seconds: float) -> None:
        with self._spare_lock:
            self._spare.clear()
        self._update(API, {"held_until": _later(budgets.c.held_until, db_now() + seconds)})

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
