"""The run charts (pure SVG): one marker per run, scaled axes, marks for project and failed runs, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from ingestor.console import charts
from ingestor.console.charts import API_CALLS, DURATION, RunPoint, nice_step, number, runs_chart

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def run(
    run_id: int, duration: float, calls: int, *, trigger: str = "schedule", status: str = "ok"
) -> RunPoint:
    return RunPoint(run_id, START + timedelta(minutes=run_id), trigger, status, duration, calls)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # also proves the markup is well-formed XML


def points(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "point" in g.get("class", "").split()]


def centre(point: ET.Element) -> tuple[float, float]:
    circle = point.find(f"{SVG}circle")
    if circle is not None:
        return float(circle.get("cx", "nan")), float(circle.get("cy", "nan"))
    polygon = point.find(f"{SVG}polygon")
    assert polygon is not None
    xs, ys = zip(*(map(float, p.split(",")) for p in polygon.get("points", "").split()), strict=True)
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


@pytest.mark.parametrize(
    ("top", "whole", "step"),
    [
        (0.144, False, 0.05),
        (21, True, 10),
        (1, False, 0.25),
        (1, True, 1),
        (3, True, 1),
        (70, False, 20),
        (0, False, 1),
    ],
)
def test_tick_steps_are_round_and_cover_the_top(top: float, whole: bool, step: float) -> None:
    assert nice_step(top, whole=whole) == pytest.approx(step)
    assert nice_step(top, whole=whole) * charts.TICKS >= top


def test_tick_labels_have_the_decimals_their_step_needs() -> None:
    assert [number(k * 0.25, 0.25) for k in range(3)] == ["0.00", "0.25", "0.50"]
    assert [number(k * 2.5, 2.5) for k in range(3)] == ["0.0", "2.5", "5.0"]
    assert number(3 * 0.1, 0.1) == "0.3" and number(20, 10) == "20"
    assert number(21.0) == "21" and number(0.14449) == "0.144"


def test_one_marker_per_run_in_order_with_higher_values_drawn_higher() -> None:
    runs = [run(1, 0.5, 30), run(2, 2.0, 10), run(4, 1.0, 20)]
    for metric in (DURATION, API_CALLS):
        root = parse(runs_chart(runs, metric, chart_id=f"c-{metric.key}"))
        marks = points(root)
        assert [m.get("data-run") for m in marks] == ["1", "2", "4"]
        assert all(metric.key in m.get("class", "").split() for m in marks)
        xs = [centre(m)[0] for m in marks]
        assert xs == sorted(xs) and len(set(xs)) == 3
        by_value = sorted(zip((metric.value(r) for r in runs), (centre(m)[1] for m in marks), strict=True))
        assert [y for _, y in by_value] == sorted((y for _, y in by_value), reverse=True)
    calls = parse(runs_chart(runs, API_CALLS, chart_id="c"))
    assert [m.get("data-value") for m in points(calls)] == ["30", "10", "20"]


def test_the_y_axis_starts_at_zero_and_its_top_tick_covers_the_largest_value() -> None:
    root = parse(runs_chart([run(1, 0.144, 21), run(2, 0.3, 7)], DURATION, chart_id="c"))
    labels = [float(t.text or "nan") for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert labels[0] == 0 and labels[-1] >= 0.3 and labels == sorted(labels)
    base = max(
        float(line.get("y1", "0")) for line in root.iter(f"{SVG}line") if "grid" in line.get("class", "")
    )
    top_mark = min(centre(m)[1] for m in points(root))
    assert charts.TOP <= top_mark < base


def test_project_crawls_are_diamonds_and_failed_runs_hollow_with_a_legend() -> None:
    runs = [run(1, 1, 10), run(2, 0.2, 3, trigger="project"), run(3, 0.4, 5, status="failed")]
    root = parse(runs_chart(runs, DURATION, chart_id="c"))
    full, project, failed = points(root)
    assert "project" in project.get("class", "").split() and project.find(f"{SVG}polygon") is not None
    assert "full" in full.get("class", "").split() and full.find(f"{SVG}circle") is not None
    circle = failed.find(f"{SVG}circle")
    assert (
        circle is not None
        and circle.get("fill") == "#fff"
        and circle.get("stroke") == charts.COLOURS["failed"]
    )
    legend = " ".join(t.text or "" for g in root.iter(f"{SVG}g") if g.get("class") == "legend" for t in g)
    assert "project crawl" in legend and "failed" in legend and "partial" not in legend


def test_accessible_and_sized_by_its_view_box() -> None:
    svg = runs_chart([run(7, 1.5, 12), run(8, 2.5, 14)], API_CALLS, chart_id="calls-main")
    root = parse(svg)
    assert root.get("role") == "img" and root.get("width") == "100%"
    assert root.get("viewBox") == f"0 0 {charts.WIDTH} {charts.HEIGHT}" and root.get("height") is None
    assert root.get("aria-labelledby") == "calls-main-title calls-main-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "calls-main-title" and title.text == "API calls per run"
    assert desc is not None and desc.text is not None
    assert "2 crawl runs (run #7 to #8)" in desc.text and "latest 14 calls" in desc.text
    tips = [m.find(f"{SVG}circle/{SVG}title") for m in points(root)]
    assert [t.text for t in tips if t is not None][0].startswith("Run #7 (schedule, ok) started 2026-01-02")
    assert "style=" not in svg and "<script" not in svg


def test_x_labels_are_thinned_but_the_newest_run_is_always_labelled() -> None:
    runs = [run(i, i / 10, i) for i in range(1, 31)]
    root = parse(runs_chart(runs, DURATION, chart_id="c"))
    labels = [t.text for t in root.iter(f"{SVG}text") if (t.text or "").startswith("#")]
    assert len(points(root)) == 30
    assert "#30" in labels and "#1" in labels and len(labels) <= charts.MAX_X_LABELS + 1


def test_text_is_escaped() -> None:
    evil = run(1, 1, 1, trigger='<script>alert("x")</script>', status="ok")
    svg = runs_chart([evil], DURATION, chart_id='x" onload="alert(1)')
    root = parse(svg)
    assert root.get("id") == 'x" onload="alert(1)' and root.get("onload") is None
    assert "<script>" not in svg


def test_no_runs_says_so() -> None:
    root = parse(runs_chart([], DURATION, chart_id="empty"))
    assert points(root) == []
    assert any(t.text == "No crawl runs yet" for t in root.iter(f"{SVG}text"))
