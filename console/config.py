"""Settings from environment variables, with safe local defaults.

Locally, missing secrets are generated into the instance folder (mode 0600) with a warning, so a
newcomer can start the console with no setup. With CONSOLE_ENV=production nothing is generated:
the app refuses to start until SECRET_KEY and CONSOLE_MASTER_KEY are provided.
"""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from .security.outbound import parse_hosts
from .security.vault import new_master_key_entry

log = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret_key"
MASTER_KEY_FILE = "master.keys"


class ConfigError(RuntimeError):
    """The configuration is unusable; the message says exactly what to set."""


def _sqlite_url(instance_path: Path, name: str) -> str:
    return f"sqlite:///{instance_path / name}"


def call_budget_url(primary: str) -> str:
    """The console's database; beside a SQLite file, a file of its own (a sync's page transaction holds
    SQLite's one write lock, and a call must not wait for it); an in-memory SQLite keeps it in the process."""
    if not primary.startswith("sqlite"):
        return primary
    url = make_url(primary)
    if not url.database or url.database == ":memory:":
        return "process"
    path = Path(url.database)
    return url.set(database=str(path.with_name(path.stem + "-call-budget.db"))).render_as_string(hide_password=False)


def _read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """Return the secret stored at `path`, creating it (0600) on first use."""
    if path.exists():
        return path.read_text().strip()
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    log.warning("Generated %s for local use; set it from the environment in production.", path.name)
    return value


def load_settings(instance_path: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    env = os.environ if env is None else env
    inst = Path(instance_path)
    production = env.get("CONSOLE_ENV", "development") == "production"
    if production:
        missing = [k for k in ("SECRET_KEY", "CONSOLE_MASTER_KEY") if not env.get(k)]
        if missing:
            raise ConfigError(
                "Refusing to start with CONSOLE_ENV=production: set "
                + " and ".join(missing)
                + " in the environment (see README, 'Running in production')."
            )
    else:
        inst.mkdir(parents=True, exist_ok=True)
    secret_key = env.get("SECRET_KEY") or _read_or_create_secret(
        inst / SECRET_KEY_FILE, lambda: secrets.token_urlsafe(48)
    )
    master_key_file = None if env.get("CONSOLE_MASTER_KEY") else str(inst / MASTER_KEY_FILE)
    master_keys = env.get("CONSOLE_MASTER_KEY") or _read_or_create_secret(
        inst / MASTER_KEY_FILE, new_master_key_entry
    )
    primary = env.get("DATABASE_URL") or _sqlite_url(inst, "console.db")
    traffic = env.get("TRAFFIC_DATABASE_URL") or _sqlite_url(inst, "traffic.db")
    call_budget = env.get("CONSOLE_CALL_BUDGET_URL") or call_budget_url(primary)
    return {
        "CONSOLE_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key,
        "CONSOLE_MASTER_KEY": master_keys,
        "CONSOLE_MASTER_KEY_FILE": master_key_file,
        "SQLALCHEMY_DATABASE_URI": primary,
        "SQLALCHEMY_BINDS": {"traffic": traffic},
        # Where every process keeps each provider account's call budget (console/sync/budget.py).
        "CALL_BUDGET_URL": call_budget,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_recycle": 280},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)),
        "CSV_MAX_BYTES": int(float(env.get("CONSOLE_CSV_MAX_MB", "30")) * 1024 * 1024),
        "INTAKE_MAX_BYTES": int(float(env.get("CONSOLE_INTAKE_MAX_MB", "2")) * 1024 * 1024),
        "CSV_UPLOAD_DIR": env.get("CONSOLE_UPLOAD_DIR") or None,
        "UPLOAD_STORE": _choice(env.get("CONSOLE_UPLOAD_STORE", "database"), ("database", "folder"), "CONSOLE_UPLOAD_STORE"),
        "ARCHIVE_DIR": env.get("CONSOLE_ARCHIVE_DIR") or None,
        "RETENTION_DAYS": env.get("CONSOLE_RETENTION_DAYS", ""),
        "RETENTION_HOUR_UTC": int(env.get("CONSOLE_RETENTION_HOUR_UTC", 3)),
        "UPLOAD_KEEP_DAYS": int(env.get("CONSOLE_UPLOAD_KEEP_DAYS", 14)),
        "METRICS_TOKEN": env.get("CONSOLE_METRICS_TOKEN") or None,
        "SMTP_HOST": env.get("CONSOLE_SMTP_HOST") or None,
        "SMTP_PORT": int(env.get("CONSOLE_SMTP_PORT", 25)),
        "SMTP_USER": env.get("CONSOLE_SMTP_USER") or None,
        "SMTP_PASSWORD": env.get("CONSOLE_SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": env.get("CONSOLE_SMTP_STARTTLS", "off") == "on",
        "SMTP_FROM": env.get("CONSOLE_SMTP_FROM", "connector-console@localhost"),
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": int(env.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": int(env.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)),
        "LOGIN_ACCOUNT_CEILING": int(env.get("LOGIN_ACCOUNT_CEILING", 50)),
        # "Keep me signed in" lasts this long at most; signing out ends it on every device.
        "REMEMBER_COOKIE_DURATION": timedelta(days=float(env.get("CONSOLE_REMEMBER_DAYS", 14))),
        # Serving processes run the sync dispatcher (started on the first request, so CLI commands
        # never do); off leaves scheduling to `flask jobs run`.
        # Behind N trusted reverse proxies, take the client address from X-Forwarded-For (throttling
        # and the audit log key on it); 0 trusts no header.
        "PROXY_HOPS": int(env.get("CONSOLE_PROXY_HOPS", 0)),
        "SCHEDULER_ENABLED": env.get("CONSOLE_SCHEDULER", "on") == "on",
        # The ops dashboard's rows, read at most this long ago in each process (0: read on every request).
        "DASHBOARD_CACHE_SECONDS": float(env.get("CONSOLE_DASHBOARD_CACHE_SECONDS", 3)),
        # ...then served this much longer while one background thread reads them again (a poll never waits).
        "DASHBOARD_STALE_SECONDS": float(env.get("CONSOLE_DASHBOARD_STALE_SECONDS", 30)),
        "SCHEDULER_INTERVAL_SECONDS": float(env.get("CONSOLE_SCHEDULER_INTERVAL", 5)),
        "SYNC_WORKERS": int(env.get("CONSOLE_SYNC_WORKERS", 2)),
        # At most this many runs of one client's jobs at once, across every dispatcher (fair claims).
        "CLIENT_CONCURRENCY": int(env.get("CONSOLE_CLIENT_CONCURRENCY", 2)),
        # A scheduled run that has gone on this long yields between pages while other clients' jobs wait.
        "SYNC_YIELD_AFTER_SECONDS": float(env.get("CONSOLE_SYNC_YIELD_AFTER_SECONDS", 60)),
        # Where the server may send requests (security/outbound.py): `host` or `host:port`, comma separated.
        "PROVIDER_HOSTS": parse_hosts(env.get("CONSOLE_PROVIDER_HOSTS",
                                               "api.hubapi.com,api-eu1.hubapi.com,*.my.salesforce.com")),
        "NOTIFY_HOSTS": parse_hosts(env.get("CONSOLE_NOTIFY_HOSTS", "hooks.slack.com")),
        # Each incremental read starts this far before its last search: provider search lags behind writes.
        "SYNC_LOOKBACK_SECONDS": float(env.get("CONSOLE_SYNC_LOOKBACK_SECONDS", 300)),
        # Reconcile every live connection against the provider this often (0: never on a schedule).
        "RECONCILE_EVERY_HOURS": float(env.get("CONSOLE_RECONCILE_EVERY_HOURS", 24)),
        "LOGIN_THROTTLE_WINDOW_SECONDS": int(env.get("LOGIN_THROTTLE_WINDOW_SECONDS", 900)),
    }


def upload_limit_text() -> str:
    """The one statement of the CSV upload limit, wherever it is shown (form, refusal, 413 page)."""
    from flask import current_app

    return f"{current_app.config['CSV_MAX_BYTES'] / 2 ** 20:g} MB"


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value
