"""The manual CSV path: read an uploaded file (any of the encodings clients' spreadsheets produce). It has
no API to open: files arrive through the console's import pages."""
from __future__ import annotations

from ..registry import Connector, register

CONNECTOR = register(Connector(key="manual_csv", name="Manual CSV import", source_label="Manual import"))
