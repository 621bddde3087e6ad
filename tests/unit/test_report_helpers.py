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


def test_money_and_counts_are_drawn_from_zero_with_distinct_ticks():
    snaps = [_snap(0, "4318000"), _snap(60, "4300000")]  # a 0.4 % dip
    chart = build("Open pipeline", snaps, Decimal("4310000"), lambda v: axis_label(v, "CAD"), "CAD")
    assert chart.y_labels[-1][1] == "CAD 0" and not chart.cut  # the axis starts at zero
    (_, y_first), (_, y_last) = chart.dots
    assert abs(y_first - y_last) < (HEIGHT - TOP - BOTTOM) * 0.01  # a 0.4 % dip is drawn as one: no cliff
    assert len({text for _, text in chart.y_labels}) == 3


def test_a_zoomed_percentage_axis_says_where_it_starts_and_keeps_ticks_apart():
    snaps = [_snap(0, "86.62"), _snap(60, "86.66")]
    chart = build("Leads with an owner", snaps, None, lambda v: axis_label(v, "%"), "%")
    assert chart.cut.startswith("The axis starts at 86.") and chart.cut.endswith("not at zero.")
    texts = [text for _, text in chart.y_labels]
    assert len(set(texts)) == 3, texts  # 86.7% three times would say nothing


def test_a_chart_has_its_readings_in_words():
    from datetime import datetime
    from decimal import Decimal
    from types import SimpleNamespace

    from console.metrics.cards import chart_text

    points = [SimpleNamespace(value=Decimal(v), captured_at=datetime(2026, m, d), breakdown=b) for v, m, d, b in
              (("0", 11, 1, {"total": 0}), ("4310000", 11, 3, None), ("4280000", 11, 20, {"total": 40}),
               ("4293000", 12, 2, None))]  # the first reading measured no records: neither drawn nor said (issue 32)
    assert chart_text("Open pipeline", points, Decimal("4300000"), "CAD") == (
        "Open pipeline over the last 30 days, 3 readings: CAD 4,310,000 on 03 Nov, CAD 4,293,000 on 02 Dec; "
        "lowest CAD 4,280,000, highest CAD 4,310,000; the baseline, drawn as a dashed line, is CAD 4,300,000.")
    assert chart_text("Leads with an owner", [], None, "%") == "Leads with an owner: no readings in the last 30 days yet."


def test_the_badge_states_the_change_and_the_rule_it_follows():
    from decimal import Decimal
    from types import SimpleNamespace

    from console.metrics.cards import Card
    from console.metrics.definitions import BY_KEY, assess
    from console.metrics.readings import Reading

    pipeline = BY_KEY["open_pipeline"]
    base = SimpleNamespace(value=Decimal("4310000"), unit="CAD")
    for current, status_word in ((Decimal("4293000"), "on_track"), (Decimal("3800000"), "needs_attention")):
        status, action = assess(pipeline, Reading(current, 40, [], {}, []), base.value)
        card = Card(pipeline, "CRM", "CAD", current, None, base, status, action, [])
        assert status.value == status_word
        words = card.status_words
        assert "above 90% of the baseline" in words
        assert ("(-0.4%)" in words) if status_word == "on_track" else ("(-11.8%)" in words)
