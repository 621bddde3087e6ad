"""Re-encrypt every stored secret under the vault's active key.

Safe while the console runs: rows are rewritten one by one with a compare-and-set on the old
ciphertext, so a secret changed concurrently is never overwritten with a stale value, and every
process can keep reading old-key ciphertexts until the last one is gone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult

from ..extensions import db
from .vault import Vault, VaultError, get_vault, new_master_key_entry, parse_keyring


def add_local_key(vault: Vault) -> str:
    """Generate a key, make it active in the instance key file, and return its id."""
    if not vault.key_file:
        raise VaultError(
            "The keyring comes from CONSOLE_MASTER_KEY: put a new entry (`flask keys generate`) at "
            "its front, restart the console processes, then run `flask keys rotate`."
        )
    path = Path(vault.key_file)
    entry = new_master_key_entry()
    path.write_text(entry + "," + path.read_text().strip() + "\n")
    vault.keys = parse_keyring(path.read_text())
    return vault.active_kid


def count_by_key(models) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model in models:
        for name in model.__secrets__:
            col = getattr(model, f"{name}_enc")
            for (token,) in db.session.execute(sa.select(col).where(col.isnot(None))):
                kid = token.split(".", 2)[1]
                counts[kid] = counts.get(kid, 0) + 1
    return counts


def rotate_secrets(vault: Vault, models, batch: int = 200) -> int:
    """Re-encrypt secrets not under the active key; return how many were rewritten."""
    rewritten = 0
    for model in models:
        for name in model.__secrets__:
            col = getattr(model, f"{name}_enc")
            last_id = 0
            while True:
                rows = db.session.execute(
                    sa.select(model.id, col).where(col.isnot(None), model.id > last_id)
                    .order_by(model.id).limit(batch)
                ).all()
                if not rows:
                    break
                for row_id, token in rows:
                    last_id = row_id
                    if vault.kid_of(token) == vault.active_kid:
                        continue
                    aad = f"{model.__tablename__}.{name}.{row_id}"
                    fresh = vault.encrypt(vault.decrypt(token, aad), aad)
                    result = db.session.execute(
                        sa.update(model).where(model.id == row_id, col == token).values({col.key: fresh})
                    )
                    rewritten += int(cast(CursorResult[Any], result).rowcount)
                db.session.commit()
    return rewritten


def unreadable(models, limit: int | None = None) -> list[str]:
    """Secrets the keyring cannot open ("table.secret#id"): a wrong or missing master key. The webhook
    receiver and every provider call would fail on them, so /healthz and `flask keys status` say so."""
    vault, found = get_vault(), []
    for model in models:
        for name in model.__secrets__:
            col = getattr(model, f"{name}_enc")
            query = sa.select(model.id, col).where(col.isnot(None)).order_by(model.id)
            for row_id, token in db.session.execute(query.limit(limit) if limit else query):
                try:
                    vault.decrypt(token, f"{model.__tablename__}.{name}.{row_id}")
                except VaultError:
                    found.append(f"{model.__tablename__}.{name}#{row_id}")
    return found
