"""The features that subscribe to the engine's events (console/sync/runs/events.py), imported once at start-up
so that every process (web, dispatcher, command line) has the same receivers connected. The engine never
imports these; a new subscriber is a receiver in its feature and a line here."""
from __future__ import annotations


def connect() -> None:
    from .imports import run  # noqa: F401  the import stopped: the CSV import says how far it got
    from .metrics import snapshots  # noqa: F401  a real run finished: metric snapshots
    from .monitoring import quality  # noqa: F401  a real run finished: the data-quality check
    from .wizard import readiness  # noqa: F401  a test batch or first sync settled: the checklist
