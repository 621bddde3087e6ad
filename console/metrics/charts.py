"""Trend charts drawn on the server as SVG (no chart service, no script): a line of the metric's
snapshots, the baseline as a dashed line, and labelled axes."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import render_template

from ..models import MetricSnapshot
from .definitions import COUNTS

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 16, 36


@dataclass(frozen=True)
class Chart:
    title: str
    points: str  # "x,y x,y …" for <polyline>
    dots: list[tuple[float, float]]
    baseline_y: float | None
    y_labels: list[tuple[float, str]]
    x_labels: list[tuple[float, str, str]]  # x, text, text-anchor
    empty: bool
    width: int = WIDTH
    height: int = HEIGHT
    cut: str = ""  # said in words when the value axis does not start at zero


def _scale(lo: Decimal, hi: Decimal) -> tuple[Decimal, Decimal]:
    if lo == hi:
        pad = abs(hi) / 10 or Decimal(1)
        return lo - pad, hi + pad
    pad = (hi - lo) / 10
    return lo - pad, hi + pad


def axis_label(value: Decimal, unit: str) -> str:
    """Short axis labels: 4.3M, 612k, 86.7%."""
    if unit == "%":
        return f"{value:.1f}%"
    prefix = "" if unit in COUNTS else f"{unit} "
    size = abs(value)
    if size >= 1_000_000:
        return f"{prefix}{value / 1_000_000:.1f}M"
    if size >= 10_000:
        return f"{prefix}{value / 1_000:.0f}k"
    return f"{prefix}{value:,.0f}"


def precise_label(value: Decimal, unit: str) -> str:
    """An axis label with every digit that matters, for ticks the short labels cannot tell apart."""
    if unit == "%":
        return f"{value:.2f}%"
    return f"{'' if unit in COUNTS else unit + ' '}{value:,.0f}"


def measured(snapshots: list[MetricSnapshot]) -> list[MetricSnapshot]:
    """The readings that measured something: a reading over no records is "no data", not zero. The chart
    and its words both draw from these, so the words never name a low the line does not have."""
    return [s for s in snapshots if (s.breakdown or {}).get("total", 1)]


def build(title: str, snapshots: list[MetricSnapshot], baseline: Decimal | None,
          label: Callable[[Decimal], str], unit: str = "") -> Chart:
    """Plot the snapshots that measured something (a reading over no records is "no data", not zero).

    Honest axes: a count or an amount is drawn from zero, so a 0.4 % dip is a 0.4 % dip, not a cliff; a
    percentage may zoom in, and then the chart says where its axis starts. Tick labels are always distinct."""
    snapshots = measured(snapshots)
    if not snapshots:
        return Chart(title, "", [], None, [], [], True)
    values = [s.value for s in snapshots] + ([baseline] if baseline is not None else [])
    lo, hi = _scale(min(values), max(values))
    if all(v >= 0 for v in values):
        lo = max(lo, Decimal(0))
        if unit != "%":
            lo = Decimal(0)  # counts and money: from zero, always
    cut = f"The axis starts at {precise_label(lo, unit)}, not at zero." if lo > 0 else ""
    t0 = snapshots[0].captured_at
    span = max((snapshots[-1].captured_at - t0).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        if len(snapshots) == 1:
            return LEFT + plot_w / 2
        return round(LEFT + plot_w * (at - t0).total_seconds() / span, 1)

    def y(v: Decimal) -> float:
        return round(TOP + plot_h * float((hi - v) / (hi - lo)), 1)

    dots = [(x(s.captured_at), y(s.value)) for s in snapshots]
    ticks = (hi, (hi + lo) / 2, lo)
    texts = [label(v) for v in ticks]
    if len(set(texts)) < len(texts):
        texts = [precise_label(v, unit) for v in ticks]
    y_labels = [(y(v), text) for v, text in zip(ticks, texts)]
    if len(snapshots) > 1:
        x_labels = [(float(LEFT), t0.strftime("%d %b %H:%M"), "start"),
                    (float(WIDTH - RIGHT), snapshots[-1].captured_at.strftime("%d %b %H:%M"), "end")]
    else:
        x_labels = [(x(t0), t0.strftime("%d %b %H:%M"), "middle")]
    return Chart(title, " ".join(f"{a},{b}" for a, b in dots), dots,
                 y(baseline) if baseline is not None else None, y_labels, x_labels, False, cut=cut)


def render_svg(chart: Chart) -> str:
    return render_template("portal/chart.svg", chart=chart, left=LEFT, right=WIDTH - RIGHT,
                           top=TOP, bottom=HEIGHT - BOTTOM)
