"""Authentication and password rules, kept out of the views."""
from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import User
from .throttle import blocked_for, note_attempt


@cache
def _dummy_hash() -> str:
    """A real hash to check against when the email is unknown, so timing does not reveal accounts."""
    return generate_password_hash("no account has this password")


class LoginRefused(Exception):
    def __init__(self, message: str, bad_credentials: bool = True) -> None:
        super().__init__(message)
        self.bad_credentials = bad_credentials


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(email: str, password: str, address: str) -> User:
    """Return the user, or raise LoginRefused with a message safe to show."""
    email = normalize_email(email)
    wait = blocked_for(email, address)
    if wait:
        raise LoginRefused(
            f"Too many failed sign-in attempts. Try again in {wait} minute{'s' if wait != 1 else ''}.",
            bad_credentials=False,
        )
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        check_password_hash(_dummy_hash(), password)
    ok = user is not None and user.check_password(password) and user.active
    note_attempt(email, address, succeeded=ok)
    if not ok:
        raise LoginRefused("Email or password is not right, or the account is deactivated.")
    return user


def change_password(user: User, current: str, new: str) -> bool:
    if not user.check_password(current):
        return False
    user.set_password(new)
    return True
