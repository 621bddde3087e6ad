"""Settings: production refuses to start without keys; local runs generate them safely."""
from __future__ import annotations

import stat

import pytest

from console import create_app
from console.config import ConfigError, load_settings


@pytest.mark.parametrize("env,missing", [
    ({}, "SECRET_KEY and CONSOLE_MASTER_KEY"),
    ({"SECRET_KEY": "s"}, "CONSOLE_MASTER_KEY"),
    ({"CONSOLE_MASTER_KEY": "k:x"}, "SECRET_KEY"),
])
def test_production_refuses_to_start_without_keys(tmp_path, env, missing):
    with pytest.raises(ConfigError, match=f"set {missing} in the environment"):
        create_app({"INSTANCE_PATH": str(tmp_path / "i")}, env={"CONSOLE_ENV": "production", **env})
    assert not (tmp_path / "i").exists()  # nothing generated in production


def test_production_with_keys_starts(tmp_path):
    from console.security.vault import new_master_key_entry

    env = {"CONSOLE_ENV": "production", "SECRET_KEY": "k" * 40, "CONSOLE_MASTER_KEY": new_master_key_entry(),
           "DATABASE_URL": f"sqlite:///{tmp_path}/p.db", "TRAFFIC_DATABASE_URL": f"sqlite:///{tmp_path}/t.db"}
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i")}, env=env)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_local_secrets_generated_private_and_stable(tmp_path, caplog):
    first = load_settings(str(tmp_path), env={})
    for name in ("secret_key", "master.keys"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert "Generated secret_key" in caplog.text
    again = load_settings(str(tmp_path), env={})
    assert again["SECRET_KEY"] == first["SECRET_KEY"]
    assert again["CONSOLE_MASTER_KEY"] == first["CONSOLE_MASTER_KEY"]
    assert first["SQLALCHEMY_DATABASE_URI"].endswith("console.db")
    assert first["SQLALCHEMY_BINDS"]["traffic"].endswith("traffic.db")


def test_sqlite_pragmas(app):
    import sqlalchemy as sa

    from console.extensions import db

    if db.engines[None].dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engines[None].connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 10000
