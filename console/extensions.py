"""Extension singletons, bound to an app in `create_app`."""
from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import click
from flask import Flask, current_app
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData

# Deterministic constraint names keep Alembic migrations identical on SQLite and MySQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
login_manager = LoginManager()
csrf = CSRFProtect()
htmx_ext = Htmx()  # request.htmx; console.htmx holds our helpers


def this_app() -> Flask:
    """The app behind `current_app`, for a thread or a server that outlives the context."""
    return cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]


# Flask-Migrate brings Alembic, Mako and Pygments (11 MB and 140 ms of imports): only `flask db …` and the
# places that migrate need them, so serving and syncing processes never load them.
def migrations(app: Flask | None = None) -> Any:
    """Flask-Migrate, bound to the app on first use (`app.extensions["migrate"]`, which env.py reads)."""
    app = app or this_app()
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(compare_type=True, render_as_batch=True).init_app(app, db, directory=str(MIGRATIONS))
    return app.extensions["migrate"]


def upgrade(revision: str = "heads") -> None:
    """`flask db upgrade` from code (the app in context)."""
    migrations()
    from flask_migrate import upgrade as alembic_upgrade

    alembic_upgrade(revision=revision)


class LazyMigrateGroup(click.Group):
    """`flask db`: Flask-Migrate's command group, imported when a `db` command is asked for."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Database migrations (Flask-Migrate).")
        self._app = app

    def _real(self) -> click.Group:
        migrations(self._app)
        from flask_migrate.cli import db as group

        return group

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        real = self._real()  # the group's own options (-d, -x) and callback, which set g.directory
        self.params, self.callback = real.params, real.callback
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._real().get_command(ctx, name)
