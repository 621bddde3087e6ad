"""Client and user administration. Each function validates fully before changing anything,
records the audit row, and leaves the commit to the caller's single transaction."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import sqlalchemy as sa

from .. import audit
from ..auth import invitations
from ..auth.services import normalize_email
from ..choices import Role
from ..extensions import db
from ..models import Client, User
from ..models.accounts import NO_PASSWORD
from ..models.base import utcnow
from ..refusals import Refused


class AdminError(Refused):
    """A rule was broken; `field` names the form field to attach the message to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


def slugify(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "client"


def _check_client_name(name: str, exclude_id: int | None = None) -> str:
    name = " ".join(name.split())
    clash = db.session.scalar(
        sa.select(Client.id).where(
            sa.func.lower(Client.name) == name.lower(), Client.id != (exclude_id or 0)
        )
    )
    if clash:
        raise AdminError("name", "A client with this name already exists.")
    return name


def _unique_slug(name: str, exclude_id: int | None = None) -> str:
    base = slugify(name)
    slug, n = base, 2
    while db.session.scalar(
        sa.select(Client.id).where(Client.slug == slug, Client.id != (exclude_id or 0))
    ):
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_client(name: str) -> Client:
    name = _check_client_name(name)
    client = Client(name=name, slug=_unique_slug(name))
    db.session.add(client)
    db.session.flush()
    audit.record("client.created", client, name=name)
    db.session.commit()
    return client


def rename_client(client: Client, name: str) -> None:
    name = _check_client_name(name, exclude_id=client.id)
    old = client.name
    client.name = name
    audit.record("client.renamed", client, old=old, new=name)
    db.session.commit()


def set_client_archived(client: Client, archived: bool) -> None:
    client.archived_at = utcnow() if archived else None
    audit.record("client.archived" if archived else "client.restored", client)
    db.session.commit()


def _resolve_client(role: str, client_id: int | None) -> int | None:
    if role == Role.CLIENT:
        client = db.session.get(Client, client_id) if client_id else None
        if client is None or client.archived:
            raise AdminError("client_id", "A client user must belong to an active client.")
        return client.id
    if client_id:
        raise AdminError("client_id", "Staff users do not belong to a client; choose none.")
    return None


def create_user(email: str, name: str, role: str, client_id: int | None, password: str | None) -> User:
    """A new account. Without a password (the admin page) it has none until its invitation is accepted;
    the CLI and the demo set one."""
    email = normalize_email(email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise AdminError("email", "A user with this email already exists.")
    user = User(email=email, name=name.strip(), role=Role(role).value,
                client_id=_resolve_client(role, client_id), active=True, password_hash=NO_PASSWORD)
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", user, email=email, role=role, client_id=user.client_id)
    db.session.commit()
    return user


def invite(user: User, by: User) -> tuple[str, datetime]:
    """A new invitation link for `user` (older ones stop working); the token is shown once."""
    if not user.active:
        raise AdminError("active", "Reactivate the account before inviting its user.")
    token, expires = invitations.issue(user, by)
    db.session.commit()
    return token, expires


def update_user(actor: User, user: User, name: str, role: str, client_id: int | None) -> None:
    if user.id == actor.id and role != user.role:
        raise AdminError("role", "You cannot change your own role.")
    new_client = _resolve_client(role, client_id)
    changes = {k: v for k, v in (("name", name.strip()), ("role", role), ("client_id", new_client))
               if getattr(user, k) != v}
    if {"role", "client_id"} & changes.keys():
        user.session_version += 1  # access changed: sign the user out everywhere
    for key, value in changes.items():
        setattr(user, key, value)
    audit.record("user.updated", user, **changes)
    db.session.commit()


def set_user_active(actor: User, user: User, active: bool) -> None:
    if user.id == actor.id and not active:
        raise AdminError("active", "You cannot deactivate yourself.")
    user.active = active
    if not active:
        user.session_version += 1
    audit.record("user.activated" if active else "user.deactivated", user)
    db.session.commit()


def reset_password(user: User, password: str) -> None:
    user.set_password(password)
    audit.record("user.password_reset", user)
    db.session.commit()
