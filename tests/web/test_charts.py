"""The server-drawn SVG charts: numbers where they belong, "no data" for missing ones, labels inert;
and the vendor comparison drawn on a manager's dashboard.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient

from assay.app import Assay
from assay.web.app import create_app
from assay.web.pages import charts
from assay.workflows import admin
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items
from tests.web.test_pages import PASSWORD, sign_in

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"
QUOTED = "Acme \"Q&A\" & 'Sons'"


def _tree(svg: str) -> ET.Element:
    """Parse the chart as XML: a label that broke out of its text would not parse, or would show up
    as an element of its own."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    return root


def _lines(root: ET.Element, cls: str) -> list[dict[str, float]]:
    return [
        {k: float(v) for k, v in line.attrib.items() if k in ("x1", "x2", "y1", "y2")}
        for line in root.iter(f"{SVG}line")
        if line.get("class") == cls
    ]


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def _axis(root: ET.Element) -> tuple[float, float]:
    """Where 0% and 100% are, read from the chart's own grid lines."""
    grid = sorted(line["x1"] for line in _lines(root, "grid"))
    return grid[0], grid[-1]


def test_proportion_chart_draws_each_interval_where_its_numbers_say() -> None:
    rows = [("A", 0.9, 0.8, 0.95), ("B", 0.5, 0.25, 0.7), ("C", 0.0, 0.0, 0.3)]
    root = _tree(charts.proportion_chart("Gold accuracy", rows))
    zero, full = _axis(root)
    assert full > zero

    def x(v: float) -> float:
        return zero + (full - zero) * v

    whiskers = _lines(root, "whisker")
    dots = list(root.iter(f"{SVG}circle"))
    assert len(whiskers) == len(dots) == 3
    for (_, value, low, high), whisker, dot in zip(rows, whiskers, dots, strict=True):
        assert abs(whisker["x1"] - x(low)) < 0.06 and abs(whisker["x2"] - x(high)) < 0.06
        assert abs(float(dot.get("cx", "nan")) - x(value)) < 0.06
        assert whisker["y1"] == whisker["y2"] == float(dot.get("cy", "nan"))
    # One row each, top to bottom in the order given, so a workforce keeps its row in every chart.
    assert [w["y1"] for w in whiskers] == sorted(w["y1"] for w in whiskers)
    texts = _texts(root)
    assert [t for t in texts if t in ("A", "B", "C")] == ["A", "B", "C"]
    assert {"90%", "50%", "0%", "100%"} <= set(texts)
    assert len(_lines(root, "cap")) == 6


def test_proportion_chart_says_no_data_for_missing_numbers() -> None:
    nan = float("nan")
    rows = [
        ("none yet", None, 0.0, 1.0),
        ("not a number", nan, nan, nan),
        ("no interval", 0.75, None, None),
        ("infinite end", 0.5, 0.25, float("inf")),
    ]
    svg = charts.proportion_chart("Agreement", rows)
    root = _tree(svg)
    assert "nan" not in svg.lower() and "inf" not in svg.replace("infinite", "").lower()
    assert _texts(root).count("no data") == 2
    dots = list(root.iter(f"{SVG}circle"))
    assert len(dots) == 2  # the two rows with a value
    assert _lines(root, "whisker") == []  # no row has two finite ends


def test_proportion_chart_reference_line_and_empty_chart() -> None:
    root = _tree(
        charts.proportion_chart("Gold", [("A", 0.9, 0.8, 1.0)], reference=0.8, reference_label="pause below")
    )
    zero, full = _axis(root)
    (line,) = _lines(root, "reference")
    assert abs(line["x1"] - (zero + (full - zero) * 0.8)) < 0.06 and line["x1"] == line["x2"]
    assert "pause below 80%" in _texts(root)
    plain = _tree(charts.proportion_chart("Gold", [("A", 0.9, 0.8, 1.0)], reference=None))
    assert _lines(plain, "reference") == []
    assert (
        _lines(
            _tree(charts.proportion_chart("Gold", [("A", 0.9, 0.8, 1.0)], reference=float("nan"))),
            "reference",
        )
        == []
    )
    empty = _tree(charts.proportion_chart("Gold", []))
    assert _texts(empty) == ["No workforce answers yet"]


def test_bar_chart_scales_formats_and_says_no_data() -> None:
    bars = [("cheap", 0.0625), ("dear", 0.125), ("no model", None), ("broken", float("nan"))]
    svg = charts.bar_chart("Cost", bars, fmt=".3f")
    root = _tree(svg)
    assert "nan" not in svg.lower()
    rects = [float(r.get("width", "nan")) for r in root.iter(f"{SVG}rect")]
    assert len(rects) == 2 and abs(rects[0] * 2 - rects[1]) < 0.2
    texts = _texts(root)
    assert {"0.062", "0.125"} <= set(texts) and texts.count("no data") == 2
    # Nothing to scale by: every row says so, nothing divides by zero.
    assert _texts(_tree(charts.bar_chart("Cost", [("a", None), ("b", None)]))).count("no data") == 2
    assert _texts(_tree(charts.bar_chart("Rate", [("a", 0.0)]))) == ["a", "0"]
    # The throughput charts keep their look: integers as they are, "No answers yet" when empty.
    assert "12" in _texts(_tree(charts.bar_chart("Answers", [("x@y.example", 12)])))
    assert _texts(_tree(charts.bar_chart("Answers", []))) == ["No answers yet"]


def test_hostile_labels_stay_text() -> None:
    for svg in (
        charts.proportion_chart(HOSTILE, [(HOSTILE, 0.5, 0.4, 0.6), (QUOTED, None, 0.0, 1.0)]),
        charts.bar_chart(HOSTILE, [(HOSTILE, 1.0), (QUOTED, None)]),
    ):
        assert "<script" not in svg and "&lt;script&gt;" in svg
        assert QUOTED not in svg and "&quot;Q&amp;A&quot; &amp; &#x27;Sons&#x27;" in svg
        root = _tree(svg)
        assert not [e for e in root.iter() if "script" in e.tag]
        assert HOSTILE in _texts(root) and QUOTED in _texts(root)
        assert root.get("aria-label") == HOSTILE and root.findtext(f"{SVG}title") == HOSTILE


def test_long_labels_are_cut_before_escaping() -> None:
    svg = charts.proportion_chart("t", [("&" * 40, 0.5, 0.4, 0.6)])
    (label,) = [t for t in _texts(_tree(svg)) if t.startswith("&")]
    assert label == "&" * 25 + "\u2026"


def test_manager_dashboard_draws_the_vendor_comparison(hub: Assay) -> None:
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    admin.create_user(hub, org=org, email=manager.email, role="manager", password=PASSWORD)
    with TestClient(create_app(hub), raise_server_exceptions=False) as api:
        for name, cost in ((QUOTED, {"cost_per_answer": 0.1}), (HOSTILE, {})):
            r = api.post(
                "/api/v1/workforces", headers=manager.headers, json={"name": name, "kind": "vendor", **cost}
            )
            assert r.status_code == 201, r.text
        settings = {"overlap": 2, "gold_rate": 0.5, "pause_below": 0.5}
        r = api.post(
            "/api/v1/projects",
            headers=manager.headers,
            json={"name": "vendors", "schema": TEXT_SCHEMA, "settings": settings},
        )
        assert r.status_code == 201, r.text
        project_id = r.json()["id"]
        records = text_items(4) + [
            {"data": {"text": f"gold {i}"}, "gold": {"sentiment": "positive"}} for i in range(2)
        ]
        r = api.post(f"/api/v1/projects/{project_id}/items", headers=manager.headers, json=records)
        assert r.status_code == 201, r.text
        for team in (QUOTED, HOSTILE):
            member = make_member(hub, org, workforce=team, vendor=True)
            while (
                lease := api.get(f"/api/v1/projects/{project_id}/next", headers=member.headers)
            ).status_code == 200:
                r = api.post(
                    f"/api/v1/assignments/{lease.json()['assignment_id']}/submit",
                    headers=member.headers,
                    json={"answers": {"sentiment": "positive"}, "duration_ms": 20_000},
                )
                assert r.status_code == 201, r.text
            assert lease.status_code == 204, lease.text

        client = TestClient(api.app, raise_server_exceptions=False)
        assert sign_in(client, manager.email, PASSWORD).status_code == 303
        page = client.get(f"/projects/{project_id}/dashboard")
    assert page.status_code == 200
    vendors = page.text[page.text.index('id="h-vendors"') :]
    vendors = vendors[: vendors.index("</section>")]
    assert vendors.count('<svg class="chart"') == 4
    for title in (
        "Gold accuracy per workforce (95% interval)",
        "Agreement with the other workforces&#x27; consensus (95% interval)",
        "Answers per hour per workforce",
        "Cost per accepted answer per workforce",
    ):
        assert f"<title>{title}</title>" in vendors
    assert "pause below 50%" in vendors and 'class="whisker"' in vendors
    assert ">180.0<" in vendors  # 20 s an answer
    assert "no data" in vendors  # the second workforce has no cost model
    assert "<table" in vendors and "?format=csv" in vendors  # the numbers stay in a table, and the CSV
    assert HOSTILE not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in vendors
    assert QUOTED not in page.text
