"""Type inference for text properties: the share rule at its boundary, the narrowest kind first, and the
values each kind's transform would refuse."""
from __future__ import annotations

from console.mapping.inference import MIN_VALUES, looks_like


def test_a_kind_wins_at_nine_values_in_ten_and_not_below():
    dates = ["2027-01-05"] * 9
    assert looks_like(dates + ["TBD"]) == ("date", 9, 10, "datetime")
    assert looks_like(dates[:8] + ["TBD", "soon"]) is None  # 8 of 10
    assert looks_like(["", None, "  "] + dates + ["TBD"]).total == 10  # empty values are not counted


def test_too_few_values_say_nothing():
    assert looks_like(["2027-01-05"] * (MIN_VALUES - 1)) is None
    assert looks_like(["2027-01-05"] * MIN_VALUES) is not None


def test_the_narrowest_kind_is_tried_first():
    assert looks_like(["1767225600000"] * 6).kind == "date"  # epoch milliseconds of this century
    assert looks_like(["1234567890123456"] * 6).kind == "number"  # too long to be milliseconds
    assert looks_like(["42", "17", "3.5", "-8", "1,200"]).kind == "number"
    assert looks_like(["yes", "no", "TRUE", "false", "No"]).kind == "boolean"
    assert looks_like(["(415) 555-0100", "+1 416 555 0199", "514.555.0101", "6045550123", "415-555-0100"]).kind == "phone"
    assert looks_like(["ana@example.com"] * 5).kind == "email"
    assert looks_like(["Acme", "Bolt & Co", "x", "Montréal", "7 Seas"]) is None


def test_values_the_transform_refuses_do_not_count():
    assert looks_like(["2027-13-45"] * 5 + ["2027-01-05"] * 5) is None  # no month 13: datetime_utc refuses
    assert looks_like(["ana@@example.com"] * 6) is None
    words = looks_like(["2027-01-05"] * 98 + ["TBD", "n/a"]).words
    assert words == "looks like a date in 98 of 100 values"
