"""The credential vault: round trip, tamper, row binding, keyring, rotation."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from console.extensions import db
from console.models import SECRET_MODELS, IntegrationProviderAccount
from console.security.rotation import add_local_key, count_by_key, rotate_secrets
from console.security.vault import Vault, VaultError, build_vault, get_vault, new_master_key_entry, parse_keyring

from .. import factories


def test_round_trip_and_random_nonce():
    vault = build_vault(new_master_key_entry())
    a, b = vault.encrypt("pat-na1-secret-value", "t.c.1"), vault.encrypt("pat-na1-secret-value", "t.c.1")
    assert a != b and "pat-na1" not in a
    assert vault.decrypt(a, "t.c.1") == "pat-na1-secret-value"
    assert a.startswith(f"v1.{vault.active_kid}.")


def test_tampered_ciphertext_fails():
    vault = build_vault(new_master_key_entry())
    token = vault.encrypt("secret", "t.c.1")
    head, body = token.rsplit(".", 1)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(VaultError):
        vault.decrypt(f"{head}.{flipped}", "t.c.1")
    with pytest.raises(VaultError):
        vault.decrypt("garbage", "t.c.1")


def test_wrong_associated_data_fails():
    vault = build_vault(new_master_key_entry())
    token = vault.encrypt("secret", "accounts.credentials.1")
    for aad in ("accounts.credentials.2", "accounts.client_secret.1", "other.credentials.1"):
        with pytest.raises(VaultError):
            vault.decrypt(token, aad)


def test_unknown_key_fails():
    token = build_vault(new_master_key_entry()).encrypt("secret", "x")
    with pytest.raises(VaultError, match="No key"):
        build_vault(new_master_key_entry()).decrypt(token, "x")


@pytest.mark.parametrize("spec", ["", "k1:short", "bad id!:" + "A" * 43])
def test_bad_keyring_rejected(spec):
    with pytest.raises(VaultError):
        parse_keyring(spec)


def test_secret_copied_to_another_row_does_not_decrypt(app):
    client = factories.client()
    one, two = factories.account(client), factories.account(client)
    one.set_secret("credentials", '{"token": "pat-na1-aaaaaaaaaaaaaaab"}', hint_source="pat-na1-aaaaaaaaaaaaaaab")
    db.session.commit()
    assert one.credentials_hint == "…aaab"
    two.credentials_enc = one.credentials_enc
    db.session.commit()
    with pytest.raises(VaultError):
        two.get_secret("credentials")
    assert one.get_secret("credentials") == '{"token": "pat-na1-aaaaaaaaaaaaaaab"}'


def test_stored_column_is_not_readable(app):
    account = factories.account(factories.client())
    account.set_secret("webhook_secret", "whsec-0123456789abcdef")
    db.session.commit()
    raw = db.session.execute(sa.text(
        "SELECT webhook_secret_enc, webhook_secret_hint FROM integration_provider_accounts WHERE id = :i"
    ), {"i": account.id}).one()
    assert "0123456789" not in raw[0]
    assert raw[1] == "…cdef"


def test_rotation_reencrypts_everything_and_old_keys_stay_readable(app, tmp_path):
    client = factories.client()
    accounts = [factories.account(client) for _ in range(3)]
    for i, acc in enumerate(accounts):
        acc.set_secret("credentials", f"token-number-{i}-xxxxxxxx")
        acc.set_secret("client_secret", f"client-secret-{i}-yyyyyyy")
    db.session.commit()
    vault = get_vault()
    old_kid = vault.active_kid
    keyfile = tmp_path / "rotate.keys"
    keyfile.write_text(app.config["CONSOLE_MASTER_KEY"])
    vault.key_file = str(keyfile)

    new_kid = add_local_key(vault)
    assert new_kid != old_kid
    # Before rotation finishes, old ciphertexts still decrypt.
    assert accounts[0].get_secret("credentials") == "token-number-0-xxxxxxxx"
    assert rotate_secrets(vault, SECRET_MODELS) == 6
    assert count_by_key(SECRET_MODELS) == {new_kid: 6}
    db.session.expire_all()
    for i, acc in enumerate(accounts):
        assert acc.get_secret("credentials") == f"token-number-{i}-xxxxxxxx"
    # A second run has nothing to do.
    assert rotate_secrets(vault, SECRET_MODELS) == 0
    # A process that only knows the old key reloads the key file when it meets the new one.
    stale = Vault(parse_keyring(app.config["CONSOLE_MASTER_KEY"]), key_file=str(keyfile))
    token = accounts[1].credentials_enc
    assert stale.decrypt(token, f"integration_provider_accounts.credentials.{accounts[1].id}") \
        == "token-number-1-xxxxxxxx"


def test_rotation_with_environment_keys_explains_the_procedure(app):
    vault = get_vault()
    vault.key_file = None
    with pytest.raises(VaultError, match="CONSOLE_MASTER_KEY"):
        add_local_key(vault)


def test_keys_cli(app, runner, tmp_path):
    account = factories.account(factories.client())
    account.set_secret("credentials", "cli-rotated-token-zzzz")
    db.session.commit()
    keyfile = tmp_path / "cli.keys"
    keyfile.write_text(app.config["CONSOLE_MASTER_KEY"])
    get_vault().key_file = str(keyfile)
    result = runner.invoke(args=["keys", "rotate", "--new-key"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 secret(s)" in result.output and "cli-rotated" not in result.output
    status = runner.invoke(args=["keys", "status"])
    assert f"{get_vault().active_kid}: 1 secret(s)" in status.output
    db.session.expire_all()
    assert db.session.get(IntegrationProviderAccount, account.id).get_secret("credentials") == "cli-rotated-token-zzzz"
