"""Clients, users and sign-in attempts."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..choices import STAFF_ROLES, Role
from .base import CreatedMixin, DateTime, Model, TimestampMixin, utcnow


class Client(TimestampMixin, Model):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)

    users: Mapped[list[User]] = relationship(back_populates="client")

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


def password_method() -> str:
    """Werkzeug's scrypt with a random salt. Only the test suite sets PASSWORD_HASH_METHOD (a config key no
    environment variable reaches), because each scrypt hash costs about 0.2 s of CPU."""
    return (current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None) or "scrypt"


class User(UserMixin, TimestampMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), index=True)
    client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped on password reset / deactivation so existing sessions stop working.
    session_version: Mapped[int] = mapped_column(sa.Integer, default=1)

    client: Mapped[Client | None] = relationship(back_populates="users")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=password_method())
        self.password_changed_at = utcnow()
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_client(self) -> bool:
        return self.role == Role.CLIENT

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    @property
    def has_password(self) -> bool:
        """False for an invited user who has not set one yet (no password can match: see invitations)."""
        return self.password_hash != NO_PASSWORD


NO_PASSWORD = "!"  # not a Werkzeug hash: check_password_hash is False for every password


class UserInvitation(CreatedMixin, Model):
    """A single-use link to set one's own password, kept as a SHA-256 of its token (the token is shown
    once, to the admin who sends it); it expires, and a newer link replaces the older ones."""

    __tablename__ = "user_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LoginAttempt(CreatedMixin, Model):
    """One sign-in attempt; failures within a window throttle the account and the address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_email_created", "email", "created_at"),
        sa.Index("ix_login_attempts_address_created", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    address: Mapped[str] = mapped_column(sa.String(64))
    succeeded: Mapped[bool] = mapped_column(sa.Boolean, default=False)
