"""Mixin for models that hold vault-encrypted secrets.

A secret `x` lives in two columns: `x_enc` (vault ciphertext, bound to table, column and row id)
and `x_hint` (at most the last four characters, the only part the UI may show).
"""
from __future__ import annotations

from typing import Any, ClassVar

from ..extensions import db
from ..security.vault import get_vault


def secret_hint(value: str) -> str:
    return "…" + value[-4:] if len(value) >= 12 else "set"


class SecretFields:
    __secrets__: ClassVar[tuple[str, ...]] = ()
    __tablename__: str
    id: Any  # the row id the ciphertext is bound to (a mapped column of the model)

    def _aad(self, name: str) -> str:
        return f"{self.__tablename__}.{name}.{self.id}"

    def set_secret(self, name: str, value: str | None, hint_source: str | None = None) -> None:
        """Encrypt and store a secret; None clears it.

        `hint_source` is the string whose tail the UI may show, when `value` is a document
        (e.g. JSON holding the token) rather than the token itself.
        """
        assert name in self.__secrets__, name
        if value is None:
            setattr(self, f"{name}_enc", None)
            setattr(self, f"{name}_hint", None)
            return
        if self.id is None:  # the ciphertext is bound to the row id
            db.session.add(self)
            db.session.flush()
        setattr(self, f"{name}_enc", get_vault().encrypt(value, self._aad(name)))
        setattr(self, f"{name}_hint", secret_hint(hint_source or value))

    @classmethod
    def sealed(cls, row_id: int, name: str, value: str, vault, hint_source: str | None = None) -> dict[str, str]:
        """Column values for a secret of row `row_id`, computed without an ORM instance or session,
        so any thread can call it with a vault it was handed."""
        assert name in cls.__secrets__, name
        return {f"{name}_enc": vault.encrypt(value, f"{cls.__tablename__}.{name}.{row_id}"),
                f"{name}_hint": secret_hint(hint_source or value)}

    def get_secret(self, name: str) -> str | None:
        assert name in self.__secrets__, name
        token = getattr(self, f"{name}_enc")
        return None if token is None else get_vault().decrypt(token, self._aad(name))

    def has_secret(self, name: str) -> bool:
        return getattr(self, f"{name}_enc") is not None
