"""Connector Console: the Flask application factory."""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import subscribers
from .config import load_settings
from .extensions import LazyMigrateGroup, csrf, db, htmx_ext, login_manager

ROOT = Path(__file__).resolve().parent.parent

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL for concurrent readers, enforced foreign keys, and waiting on locks instead of failing."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")  # with WAL: consistent after any crash, far fewer fsyncs
        cur.close()


def create_app(config: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Flask:
    """Build the console. `config` overrides settings (tests); `env` replaces os.environ."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str((config or {}).get("INSTANCE_PATH") or ROOT / "instance"),
    )
    app.config.update(load_settings(app.instance_path, env))
    app.config.update(config or {})
    from .params import BoundedInt

    app.url_map.converters["int"] = BoundedInt  # huge ids answer 404, never an overflow

    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    _init_extensions(app)
    _register_blueprints(app)
    subscribers.connect()
    _register_hooks(app)
    from . import cli

    cli.init_app(app)
    return app


def _private_sqlite_files(app: Flask) -> None:
    """SQLite files hold clients' personal data: created 0600 (SQLite gives its -wal and -shm files the
    database file's mode), the instance folder 0700."""
    from sqlalchemy.engine import make_url

    urls = [app.config["SQLALCHEMY_DATABASE_URI"], *app.config.get("SQLALCHEMY_BINDS", {}).values()]
    for url in urls:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
            continue
        path = Path(parsed.database)
        if path.parent.resolve() == Path(app.instance_path).resolve():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.parent.chmod(0o700)
        if path.parent.is_dir():
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            for suffix in ("", "-wal", "-shm"):
                sibling = path.with_name(path.name + suffix)
                if sibling.exists():
                    sibling.chmod(0o600)


def _init_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (every table registered before Alembic looks)

    _private_sqlite_files(app)
    from .security.vault import build_vault

    db.init_app(app)
    app.cli.add_command(LazyMigrateGroup(app))
    csrf.init_app(app)
    htmx_ext.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "strong"
    app.extensions["vault"] = build_vault(
        app.config["CONSOLE_MASTER_KEY"], app.config.get("CONSOLE_MASTER_KEY_FILE")
    )


def _register_blueprints(app: Flask) -> None:
    from . import health
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .home import bp as home_bp
    from .imports import bp as imports_bp
    from .intake import bp as intake_bp
    from .leads import bp as leads_bp
    from .ops import bp as ops_bp
    from .portal import bp as portal_bp
    from .portal import preview_bp
    from .reports import bp as reports_bp
    from .webhooks import bp as webhooks_bp
    from .wizard import bp as wizard_bp

    for bp in (auth_bp, home_bp, admin_bp, portal_bp, preview_bp, reports_bp, wizard_bp, webhooks_bp, ops_bp,
               imports_bp, intake_bp, leads_bp, health.bp):
        app.register_blueprint(bp)


@login_manager.user_loader
def _load_user(user_id: str):
    from .models import User

    uid, _, version = user_id.partition(":")
    user = db.session.get(User, int(uid)) if uid.isdigit() else None
    if user is None or not user.active or str(user.session_version) != version:
        return None
    if user.client is not None and user.client.archived:  # an archived client's people are signed out
        return None
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    from flask import redirect, url_for

    if request.htmx:
        from htmx_flask import make_response as hx_response

        return hx_response("", 401, redirect=url_for("auth.login"))
    if request.path.startswith("/webhooks/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error="authentication required"), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _start_scheduler_once(app: Flask) -> None:
    """Serving processes start the dispatcher with their first request (never in CLI commands)."""
    import threading

    lock = threading.Lock()

    @app.before_request
    def _ensure_scheduler() -> None:
        if "scheduler" in app.extensions:
            return
        with lock:
            if "scheduler" not in app.extensions:
                from jobs.scheduler import start_scheduler

                start_scheduler(app, app.config["SCHEDULER_INTERVAL_SECONDS"])


def _register_hooks(app: Flask) -> None:
    if app.config.get("SCHEDULER_ENABLED"):
        _start_scheduler_once(app)

    @app.after_request
    def security_headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        if app.config["CONSOLE_ENV"] == "production":
            resp.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if current_user and current_user.is_authenticated:
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.after_request
    def close_unsent_body(resp: Response) -> Response:
        """A 304 (a browser revalidating a static file) or 204 sends no body, so the WSGI server never
        closes the file send_file opened for it: close it here (it leaked a file handle per revalidation)."""
        if resp.status_code in (204, 304) and not resp.is_sequence and hasattr(resp.response, "close"):
            resp.response.close()
            resp.response = []
        return resp

    from .answers import refused
    from .refusals import Refused

    app.register_error_handler(Refused, refused)

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):
        return _error_page(400, "The form expired or was sent from elsewhere. Reload the page and try again.")

    for code, message in (
        (400, "The request could not be understood."),
        (403, "You do not have access to this page."),
        (404, "There is nothing here."),
        (405, "That action is not allowed here."),
        (429, "Too many requests. Wait a moment and try again."),
        (500, "Something went wrong on our side. The error is logged."),
    ):
        app.register_error_handler(code, lambda err, c=code, m=message: _error_page(c, m))
    from .config import upload_limit_text

    app.register_error_handler(413, lambda err: _error_page(
        413, f"The upload is too large: files up to {upload_limit_text()} are accepted."))

    @app.context_processor
    def template_helpers() -> dict[str, Any]:
        from flask import has_request_context
        from flask_login import current_user

        from . import choices
        from .auth.policy import can

        # The signed-in user, looked up once per render (a table asks `can` per row).
        user = current_user._get_current_object() if has_request_context() else None
        return {"choices": choices, "can": lambda action, connection=None: can(user, action, connection)}

    from . import render
    from .mapping.targets import label_of, plain_reason
    from .metrics.cards import format_change, format_value

    app.add_template_global(render.id_url, "id_url")
    app.add_template_global(render.badge, "badge_html")
    app.add_template_global(render.when, "when_html")
    app.add_template_global(label_of, "field_label")
    app.add_template_global(plain_reason, "plain_reason")
    from .metrics.baselines import metric_title, source_words

    app.add_template_global(source_words, "source_words")
    app.add_template_global(metric_title, "metric_title")
    from .mapping.objects import label as object_label

    app.add_template_global(object_label, "object_label")
    from .sync.proof.verdict import crm_name

    app.add_template_global(crm_name, "crm_name")  # "HubSpot", "Salesforce": a connection's provider, by name
    app.add_template_filter(format_value, "metric_value")
    app.add_template_filter(format_change, "metric_change")


def _error_page(code: int, message: str):
    if getattr(request, "htmx", None):
        return render_template("partials/error.html", code=code, message=message), code
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=message), code
    return render_template("errors/error.html", code=code, message=message), code
