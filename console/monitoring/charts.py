"""Stacked bar charts drawn on the server as SVG (no chart library, no script): the dashboard's runs
and records per day over the last week."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .dashboard import DayTotals

WIDTH, HEIGHT = 520, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 44, 30


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    colour: str
    title: str  # shown on hover and read by screen readers


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    y_labels: list[tuple[float, str]]
    legend: list[tuple[float, str, str]]  # x, colour, name: one line under the title
    empty: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def _nice_max(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n at or above the value, so the axis reads in round numbers."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if value <= m * step:
                return m * step
        step *= 10


def _short(n: float) -> str:
    return f"{n / 1_000_000:.1f}M" if n >= 1_000_000 else f"{n / 1000:.0f}k" if n >= 10_000 else f"{n:,.0f}"


def stacked(title: str, days: list[str], series: list[tuple[str, str, list[int]]]) -> Chart:
    """`series` is (name, colour, one value per day), stacked bottom-up in that order."""
    totals = [sum(values[i] for _, _, values in series) for i in range(len(days))]
    top = _nice_max(max(totals + [1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(days))
    bars = []
    for i, day in enumerate(days):
        base, segments = float(HEIGHT - BOTTOM), []
        label = datetime.strptime(day, "%Y-%m-%d").strftime("%a %d")
        for name, colour, values in series:
            if values[i] <= 0:
                continue
            h = round(plot_h * values[i] / top, 1)
            base -= h
            segments.append(Segment(round(base, 1), h, colour, f"{label}: {values[i]:,} {name}"))
        bars.append(Bar(round(LEFT + i * slot + slot * 0.15, 1), round(slot * 0.7, 1), label, segments))
    y_labels = [(round(TOP + plot_h * (1 - f), 1), _short(top * f)) for f in (1, 0.5, 0)]
    legend, x = [], float(LEFT)
    for name, colour, _ in series:
        legend.append((x, colour, name))
        x += 26 + 6 * len(name)  # about 6 px a character at 10 px sans-serif
    return Chart(title, bars, y_labels, legend, not any(totals))


def week_charts(week: list[DayTotals]) -> list[Chart]:
    days = [d.day for d in week]
    runs = stacked("Runs per day", days, [
        ("succeeded", "#1d7a46", [d.runs.get("succeeded", 0) for d in week]),
        ("partial", "#c98a00", [d.runs.get("partial", 0) for d in week]),
        ("failed", "#b42318", [d.runs.get("failed", 0) + d.runs.get("cancelled", 0) for d in week]),
        ("running", "#2563a8", [d.runs.get("running", 0) + d.runs.get("queued", 0) for d in week])])
    records = stacked("Records per day", days, [
        ("written", "#3756d4", [d.written for d in week]),
        ("unchanged or duplicate", "#b8c2d6", [d.unchanged for d in week]),
        ("failed", "#b42318", [d.failed for d in week])])
    return [runs, records]
