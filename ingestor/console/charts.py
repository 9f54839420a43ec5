"""Inline SVG charts of recent crawl runs (pure: numbers in, escaped SVG markup out).

One panel per metric (crawl duration, API calls) so each has its own y axis; points oldest to newest, project
crawls drawn as diamonds, failed and partial runs outlined. Sized by ``viewBox`` (scales to any width), with a
``<title>``/``<desc>`` pair and a ``<title>`` per point. Imports nothing of ours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

WIDTH = 360
HEIGHT = 216
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 62
"""Plot margins: y tick labels on the left, x labels, axis title and legend below."""
MAX_X_LABELS = 6
TICKS = 4
COLOURS = {"ok": "#1f4e79", "partial": "#9a6700", "failed": "#cf222e"}
LINE = "#8aa4bf"
GRID = "#d8dde3"
TEXT = "#5b6470"


@dataclass(frozen=True)
class RunPoint:
    """One crawl run as the chart sees it."""

    run_id: int
    started_at: datetime
    trigger: str
    status: str
    duration_seconds: float
    api_calls: int

    @property
    def project(self) -> bool:
        """A project-scoped crawl (after a creation), not a crawl of the whole instance."""
        return self.trigger == "project"


@dataclass(frozen=True)
class Metric:
    """What one panel plots."""

    key: str
    label: str
    unit: str
    value: Callable[[RunPoint], float]
    whole: bool = False
    """Counts: ticks are whole numbers."""


DURATION = Metric("duration", "Crawl duration (seconds)", "seconds", lambda run: run.duration_seconds)
API_CALLS = Metric("calls", "API calls per run", "calls", lambda run: float(run.api_calls), whole=True)
METRICS = (DURATION, API_CALLS)


def nice_step(top: float, ticks: int = TICKS, *, whole: bool = False) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) so ``ticks`` steps cover ``top``;
    ``whole``: a whole number (1, 2 or 5 times a power of ten, at least 1)."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    if whole and raw <= 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0) if whole else (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power * (1 + 1e-9):
            return factor * power
    return 10.0 * power  # pragma: no cover (the loop always returns)


def number(value: float, step: float | None = None) -> str:
    """``value`` for a label: as many decimals as ``step`` needs (else three significant digits)."""
    if step is not None:
        decimals = 0
        while decimals < 6 and round(step * 10**decimals, 9) % 1:
            decimals += 1
        return f"{value:.{decimals}f}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


def runs_chart(runs: Sequence[RunPoint], metric: Metric, *, chart_id: str) -> str:
    """An SVG panel of ``metric`` over ``runs`` (oldest first): axes, ticks, one marker per run."""
    cid = escape(chart_id)
    label = metric.label
    if not runs:
        return _svg(
            cid, label, "No crawl runs yet.", [_text(WIDTH / 2, HEIGHT / 2, "No crawl runs yet", "middle")]
        )
    values = [metric.value(run) for run in runs]
    step = nice_step(max(values), whole=metric.whole)
    top = step * max(1, math.ceil(max(values) / step - 1e-9))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    def x(index: int) -> float:
        return LEFT + (index + 0.5) * plot_w / len(runs)

    def y(value: float) -> float:
        return base - value / top * plot_h

    parts = _y_axis(top, step, y, metric.unit) + _x_axis(runs, x, base)
    if len(runs) > 1:
        line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline class="series" points="{line}" fill="none" stroke="{LINE}" stroke-width="1.5"/>'
        )
    parts += [_marker(run, x(i), y(v), metric) for i, (run, v) in enumerate(zip(runs, values, strict=True))]
    parts += _legend(runs)
    return _svg(cid, label, _describe(runs, values, metric), parts, metric.key)


def _y_axis(top: float, step: float, y: Callable[[float], float], unit: str) -> list[str]:
    out = []
    count = round(top / step)
    for k in range(count + 1):
        value = k * step
        at = y(value)
        out.append(
            f'<line class="grid" x1="{LEFT}" y1="{at:.1f}" x2="{WIDTH - RIGHT}" y2="{at:.1f}" '
            f'stroke="{GRID}"/>'
        )
        out.append(_text(LEFT - 6, at + 4, number(value, step), "end"))
    out.append(f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y(0):.1f}" stroke="{TEXT}"/>')
    mid = (TOP + y(0)) / 2
    out.append(
        f'<text class="axis-title" x="12" y="{mid:.1f}" transform="rotate(-90 12 {mid:.1f})" '
        f'text-anchor="middle" font-size="12" fill="{TEXT}">{escape(unit)}</text>'
    )
    return out


def _x_axis(runs: Sequence[RunPoint], x: Callable[[int], float], base: float) -> list[str]:
    out = [f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="{TEXT}"/>']
    every = max(1, math.ceil(len(runs) / MAX_X_LABELS))
    last = len(runs) - 1
    for i, run in enumerate(runs):
        if i == last or (i % every == 0 and last - i >= every / 2):
            out.append(_text(x(i), base + 16, f"#{run.run_id}", "middle"))
    out.append(_text(LEFT + (WIDTH - LEFT - RIGHT) / 2, base + 32, "run (oldest → newest)", "middle"))
    return out


def _marker(run: RunPoint, cx: float, cy: float, metric: Metric) -> str:
    colour = COLOURS.get(run.status, COLOURS["failed"])
    fill = colour if run.status == "ok" else "#fff"
    kind = "project" if run.project else "full"
    classes = f"point {metric.key} {kind} {escape(run.status)}"
    tip = escape(
        f"Run #{run.run_id} ({run.trigger}, {run.status}) started "
        f"{run.started_at.strftime('%Y-%m-%d %H:%M:%S')} UTC: {number(round(run.duration_seconds, 3))} s, "
        f"{run.api_calls} API calls"
    )
    data = f'data-run="{run.run_id}" data-value="{round(metric.value(run), 3):g}"'
    paint = f'fill="{fill}" stroke="{colour}" stroke-width="2"'
    if run.project:
        r = 5.5
        shape = (
            f'<polygon points="{cx:.1f},{cy - r:.1f} {cx + r:.1f},{cy:.1f} {cx:.1f},{cy + r:.1f} '
            f'{cx - r:.1f},{cy:.1f}" {paint}>'
        )
        return f'<g class="{classes}" {data}>{shape}<title>{tip}</title></polygon></g>'
    return (
        f'<g class="{classes}" {data}><circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" {paint}>'
        f"<title>{tip}</title></circle></g>"
    )


def _legend(runs: Sequence[RunPoint]) -> list[str]:
    """Only the marks the chart uses: full crawl, project crawl, partial, failed."""
    entries: list[tuple[str, str]] = [("full", "full crawl")]
    if any(run.project for run in runs):
        entries.append(("project", "project crawl"))
    for status in ("partial", "failed"):
        if any(run.status == status for run in runs):
            entries.append((status, status))
    out = ['<g class="legend">']
    at, row = float(LEFT), HEIGHT - 10
    for key, text in entries:
        colour = COLOURS.get(key, COLOURS["ok"])
        if key == "project":
            out.append(
                f'<polygon points="{at + 5},{row - 9} {at + 10},{row - 4} {at + 5},{row + 1} {at},{row - 4}" '
                f'fill="{COLOURS["ok"]}"/>'
            )
        else:
            fill = colour if key == "full" else "#fff"
            out.append(
                f'<circle cx="{at + 5}" cy="{row - 4}" r="4" fill="{fill}" stroke="{colour}" '
                f'stroke-width="2"/>'
            )
        out.append(_text(at + 14, row, text, "start"))
        at += 22 + 6.5 * len(text)
    out.append("</g>")
    return out


def _describe(runs: Sequence[RunPoint], values: Sequence[float], metric: Metric) -> str:
    latest = values[-1]
    span = f"run #{runs[0].run_id} to #{runs[-1].run_id}" if len(runs) > 1 else f"run #{runs[0].run_id}"
    projects = sum(run.project for run in runs)
    extra = f", {projects} of them project crawls" if projects else ""
    return (
        f"{metric.label}, {len(runs)} crawl run{'' if len(runs) == 1 else 's'} ({span}{extra}): "
        f"from {number(round(min(values), 3))} "
        f"to {number(round(max(values), 3))} {metric.unit}, latest {number(round(latest, 3))} {metric.unit}."
    )


def _text(x: float, y: float, text: str, anchor: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="12" fill="{TEXT}">'
        f"{escape(text)}</text>"
    )


def _svg(cid: str, label: str, description: str, parts: Sequence[str], key: str = "empty") -> str:
    return (
        f'<svg class="chart runs-chart" id="{cid}" data-metric="{escape(key)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-labelledby="{cid}-title {cid}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{cid}-title">{escape(label)}</title><desc id="{cid}-desc">{escape(description)}</desc>'
        + "".join(parts)
        + "</svg>"
    )
