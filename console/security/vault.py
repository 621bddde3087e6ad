"""AES-256-GCM credential vault with a keyring.

A ciphertext token is `v1.<kid>.<base64url(nonce || ciphertext+tag)>`. The key id says which key
decrypts it, so old keys stay readable while `flask keys rotate` re-encrypts under the active key.
The associated data (table.column.row_id) binds a ciphertext to its row: copied anywhere else,
it fails to decrypt.

The keyring comes from CONSOLE_MASTER_KEY (`kid:base64key[,kid:base64key…]`, first is active) or,
locally, from the instance key file, which is re-read when a token names an unknown key so a
running process picks up a key added by `flask keys rotate --new-key`.
"""
from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

VERSION = "v1"


class VaultError(Exception):
    """A secret could not be decrypted (unknown key, tampered, or bound to another row)."""


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_master_key_entry() -> str:
    """A keyring entry `kid:base64(32 random bytes)` for the credential vault."""
    kid = "k" + secrets.token_hex(4)
    return f"{kid}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def parse_keyring(spec: str) -> list[tuple[str, bytes]]:
    """Parse `kid:key,kid:key`; a bare key (no kid) is accepted as kid `k0`."""
    entries: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in spec.replace("\n", ",").split(",")):
        if not part:
            continue
        kid, _, key = part.rpartition(":") if ":" in part else ("k0", "", part)
        try:
            raw = _b64decode(key)
        except ValueError:
            raw = b""
        if len(raw) != 32 or not kid.isalnum():
            raise VaultError("CONSOLE_MASTER_KEY entries must be 'kid:base64(32 bytes)'.")
        entries.append((kid, raw))
    if not entries:
        raise VaultError("CONSOLE_MASTER_KEY holds no key.")
    return entries


@dataclass
class Vault:
    keys: list[tuple[str, bytes]]
    key_file: str | None = None

    @property
    def active_kid(self) -> str:
        return self.keys[0][0]

    def _key(self, kid: str) -> bytes:
        for known, key in self.keys:
            if known == kid:
                return key
        if self.key_file and Path(self.key_file).exists():
            self.keys = parse_keyring(Path(self.key_file).read_text())
            for known, key in self.keys:
                if known == kid:
                    return key
        raise VaultError(f"No key '{kid}' in the keyring.")

    def encrypt(self, plaintext: str, aad: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[0][1]).encrypt(nonce, plaintext.encode(), aad.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self.active_kid}.{body}"

    def decrypt(self, token: str, aad: str) -> str:
        try:
            version, kid, body = token.split(".", 2)
            raw = _b64decode(body)
        except ValueError as exc:
            raise VaultError("Malformed ciphertext.") from exc
        if version != VERSION or len(raw) < 28:
            raise VaultError("Malformed ciphertext.")
        try:
            return AESGCM(self._key(kid)).decrypt(raw[:12], raw[12:], aad.encode()).decode()
        except InvalidTag as exc:
            raise VaultError("Ciphertext does not belong here or was altered.") from exc

    def kid_of(self, token: str) -> str:
        return token.split(".", 2)[1]


def build_vault(spec: str, key_file: str | None = None) -> Vault:
    return Vault(parse_keyring(spec), key_file)


def get_vault() -> Vault:
    return current_app.extensions["vault"]
