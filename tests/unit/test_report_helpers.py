"""Pure helpers behind client reports: stage states, axis labels, chart points, CSV cell safety."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from console.connectors.hubspot.session import stage_state
from console.metrics.cards import safe_cell
from console.metrics.charts import BOTTOM, HEIGHT, TOP, axis_label, build


@pytest.mark.parametrize("metadata, state", [
    ({"isClosed": "false", "probability": "0.4"}, "open"),
    ({"isClosed": "true", "probability": "1.0"}, "won"),
    ({"isClosed": "true", "probability": "0.0"}, "lost"),
    ({"isClosed": True, "probability": "junk"}, "lost"),
    ({}, "open"),
])
def test_stage_state_from_hubspot_stage_metadata(metadata, state):
    assert stage_state(metadata) == state


def test_axis_labels_are_short():
    assert axis_label(Decimal("4308392.77"), "CAD") == "CAD 4.3M"
    assert axis_label(Decimal("612605"), "CAD") == "CAD 613k"
    assert axis_label(Decimal("86.66"), "%") == "86.7%"
    assert axis_label(Decimal("950"), "leads") == "950"


def _snap(minutes: int, value: str, total: int = 10):
    return SimpleNamespace(captured_at=datetime(2026, 11, 1) + timedelta(minutes=minutes), value=Decimal(value),
                           breakdown={"total": total})


def test_chart_skips_readings_over_no_records_and_puts_higher_values_higher():
    chart = build("t", [_snap(0, "0", total=0), _snap(10, "50"), _snap(20, "80")], Decimal("60"), str)
    assert len(chart.dots) == 2
    (_, y50), (_, y80) = chart.dots
    assert y80 < y50  # SVG y grows downwards
    assert TOP <= y80 and y50 <= HEIGHT - BOTTOM
    assert y80 < chart.baseline_y < y50


def test_empty_chart_says_so():
    assert build("t", [], None, str).empty


@pytest.mark.parametrize("raw, safe", [
    ("=SUM(A1)", "'=SUM(A1)"), ("-2 pts", "'-2 pts"), ("@cmd", "'@cmd"), ("\tx", "'\tx"), ("\r=1", "'\r=1"),
    ("+1+1", "'+1+1"), ("-1e3", "'-1e3"), ("=1", "'=1"), ("+0.2 pts", "'+0.2 pts"),
    # plain numbers are numbers, whatever their sign: no spreadsheet runs them
    ("+1", "+1"), ("-3.5", "-3.5"), ("+0.2", "+0.2"), ("-1,200", "-1,200"), (Decimal("-12.5"), "-12.5"),
    ("Leads", "Leads"), (Decimal("12.5"), "12.5"), (None, ""),
])
def test_csv_cells_cannot_become_formulas(raw, safe):
    assert safe_cell(raw) == safe
