"""The connector registry finds each built-in provider by key, whatever was imported first."""
from __future__ import annotations

import subprocess
import sys

import pytest

from console.connectors import registry


def test_builtin_providers_and_an_unknown_one():
    hubspot, csv = registry.get("hubspot"), registry.get("manual_csv")
    assert hubspot.open_session is not None and hubspot.webhooks is not None and hubspot.source_label == "CRM"
    assert csv.open_session is None and registry.source_label("manual_csv") == "Manual import"
    salesforce = registry.get("salesforce")
    assert salesforce.open_session is not None and salesforce.webhooks is None and salesforce.vocabulary.writes is False
    with pytest.raises(registry.UnknownProvider):
        registry.get("dynamics")
    assert registry.source_label("dynamics") == "CRM"


def test_a_fresh_process_that_imported_another_provider_first_still_finds_hubspot():
    code = ("import console.connectors.manual_csv\nfrom console.connectors import registry\n"
            "print(registry.get('hubspot').name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "HubSpot", out.stderr
