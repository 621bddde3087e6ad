"""The access policy, as one table: who may do what to a connection they own or do not own."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from console.auth.policy import RULES, can

# action: roles allowed on a connection they do not own; an owner gains every action marked * on their own
EXPECTED = {
    "view": ({"admin", "owner", "ops"}, False),
    "create": ({"admin", "owner"}, False),
    "edit": ({"admin"}, True),
    "test": ({"admin", "ops"}, True),
    "operate": ({"admin", "ops"}, True),
    "import": ({"admin", "ops"}, True),
    "report": ({"admin"}, True),
    "triage": ({"admin", "ops"}, False),
    "correct": ({"admin", "ops"}, True),
    "administer": ({"admin"}, False),
}


def _user(role: str, uid: int = 7, active: bool = True):
    return SimpleNamespace(role=role, id=uid, is_authenticated=True, active=active)


def test_every_action_is_in_the_table():
    assert set(RULES) == set(EXPECTED) | {"preview"}


@pytest.mark.parametrize("role", ["admin", "owner", "ops", "client"])
def test_who_may_view_a_client_as_the_client(role):
    """"preview" is asked of a client's connections: admins always, an owner of one of them, nobody else."""
    theirs, not_theirs = SimpleNamespace(owner_user_id=7), SimpleNamespace(owner_user_id=8)
    assert can(_user(role), "preview", [not_theirs, theirs]) == (role in ("admin", "owner"))
    assert can(_user(role), "preview", [not_theirs]) == (role == "admin")
    assert can(_user(role), "preview", []) == (role == "admin")


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", ["admin", "owner", "ops", "client"])
def test_who_may(role, action):
    others, owners_gain = EXPECTED[action]
    theirs, not_theirs = SimpleNamespace(owner_user_id=7), SimpleNamespace(owner_user_id=8)
    assert can(_user(role), action, not_theirs) == (role in others)
    assert can(_user(role), action, theirs) == (role in others or (role == "owner" and owners_gain))
    assert not can(_user(role, active=False), action, theirs)  # a deactivated account may do nothing


def test_anonymous_and_unknown():
    assert not can(None, "view") and not can(SimpleNamespace(is_authenticated=False), "view")
    with pytest.raises(KeyError):
        can(_user("admin"), "launch_missiles")
