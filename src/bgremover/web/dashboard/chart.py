"""The 30-day usage chart as plain numbers for an inline SVG: no chart library, no script, prints anywhere."""
from __future__ import annotations

from dataclasses import dataclass

from bgremover.service.usage import DayUsage

WIDTH, HEIGHT, GAP, TOP = 300, 80, 2, 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # tooltip and accessible text, e.g. "2026-11-25: 3 images"
    empty: bool  # drawn as a faint hairline


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    total: int
    summary: str  # one sentence for screen readers
    first_day: str
    last_day: str


def usage_chart(days: list[DayUsage]) -> Chart:
    peak = max((d.images for d in days), default=0)
    step = WIDTH / max(1, len(days))
    bars = []
    for i, d in enumerate(days):
        h = 0.0 if peak == 0 else (HEIGHT - TOP) * d.images / peak
        h = max(h, 1.0)  # a hairline marks days without images, so the axis stays readable
        bars.append(Bar(round(i * step, 2), round(HEIGHT - h, 2), round(step - GAP, 2), round(h, 2),
                        f"{d.day.isoformat()}: {d.images} image{'s' if d.images != 1 else ''}, {d.credits} credits",
                        d.images == 0))
    total = sum(d.images for d in days)
    summary = f"{total} images in the last {len(days)} days; the busiest day had {peak}."
    first = days[0].day.isoformat() if days else ""
    last = days[-1].day.isoformat() if days else ""
    return Chart(WIDTH, HEIGHT, bars, peak, total, summary, first, last)
