"""Fixtures the integration tests share."""
from __future__ import annotations

import pytest

from console.connectors.budget import _registry
from console.sandbox import SandboxConfig, SandboxServer


@pytest.fixture(autouse=True)
def fresh_limiters():
    """Each sandbox is a new "account": no test carries another's rate-limit window."""
    _registry.clear()


@pytest.fixture
def portal(app):
    """A small portal of its own (150 contacts, 10 companies) for the two-way tests, which change it."""
    with SandboxServer(SandboxConfig(contacts=150, deals=0, companies=10, seed=41, limits=False)) as sb:
        yield sb
