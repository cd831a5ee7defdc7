"""The review pages draw each answer with its question's kind: a preference over the two responses
as the annotator saw them with its strength, spans marked in their text, a rewrite as a diff."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.app import Assay
from assay.domain.schema import parse_schema
from assay.storage.tables import reviews
from assay.web.app import create_app
from assay.web.pages.answers import present, span_segments, word_diff
from assay.workflows import admin
from tests.factories import Member, make_member, make_org
from tests.web.test_pages import PASSWORD, sign_in

SCHEMA: dict[str, Any] = {
    "inputs": [
        {"name": "prompt", "kind": "text"},
        {"name": "responses", "kind": "responses"},
        {"name": "draft", "kind": "text"},
    ],
    "questions": [
        {"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}},
        {"name": "order", "kind": "ranking"},
        {"name": "claims", "kind": "spans", "input": "prompt", "labels": ["fact", "opinion"]},
        {"name": "rewrite", "kind": "text", "prefill": "draft"},
        {"name": "note", "kind": "text", "required": False},
    ],
}
PROMPT = "Paris is the capital <b>of</b> France and the nicest city."
ITEM = {
    "prompt": PROMPT,
    "responses": [
        {"id": "x", "content": "The first response, stored first."},
        {"id": "y", "content": "The second response, stored second."},
    ],
    "draft": "The quick brown fox jumps over the lazy dog.",
}


def test_a_preference_is_drawn_as_the_annotator_saw_it() -> None:
    schema = parse_schema(SCHEMA)
    # Shown y then x: y is "A" on the left.  -3 prefers responses[0] as stored (x), shown as B.
    (view,) = present(schema, ITEM, {"overall": -3}, {"responses": ["y", "x"]})
    assert view["kind"] == "preference" and view["summary"] == "Response B much better"
    assert [(r["letter"], r["id"], r["preferred"]) for r in view["responses"]] == [
        ("A", "y", False),
        ("B", "x", True),
    ]
    # The scale runs from "A much better" on the left: x's -3 is its right end.
    assert [p["value"] for p in view["scale"]] == [3, 2, 1, 0, -1, -2, -3]
    assert [p["chosen"] for p in view["scale"]][-1] is True
    assert view["ends"] == ("A better", "B better")
    (same_order,) = present(schema, ITEM, {"overall": 1}, {"responses": ["x", "y"]})
    assert same_order["summary"] == "Response B slightly better"
    assert [p["value"] for p in same_order["scale"]] == [-3, -2, -1, 0, 1, 2, 3]
    (tie,) = present(schema, ITEM, {"overall": 0}, None)
    assert tie["summary"].startswith("Tie") and all(r["tie"] for r in tie["responses"])


def test_answers_of_the_wrong_shape_are_shown_as_values_never_a_crash() -> None:
    # Stored answers were checked when written, but a view must not trust that (imports, old rows).
    schema = parse_schema(SCHEMA)
    odd = {
        "overall": "left",
        "order": [[{"id": "x"}], "y", 3],
        "claims": [{"start": "0", "end": 4}, {"start": 5, "end": 2, "label": "fact"}, 7],
        "rewrite": ["not", "text"],
        "extra": {"a": 1},
    }
    views = {
        v["name"]: v for v in present(schema, {"prompt": 5, "responses": "none"}, odd, {"responses": [1]})
    }
    assert views["overall"] == {**views["overall"], "kind": "value", "text": "left"}
    assert views["order"]["kind"] == "ranking" and views["order"]["places"][0]["responses"] == []
    assert views["claims"]["kind"] == "value"
    assert views["rewrite"]["kind"] == "text" and views["extra"]["question"] == "unknown"
    assert [
        s["labels"] for s in span_segments("abc", [{"start": 5, "end": 2, "label": "x"}, "no"], ["x"])
    ] == [[]]


def test_spans_and_a_rewrite_are_drawn_in_their_text() -> None:
    segments = span_segments(
        "ab cd ef", [{"start": 0, "end": 5, "label": "p"}, {"start": 3, "end": 8, "label": "q"}], ["p", "q"]
    )
    assert [(s["text"], s["labels"]) for s in segments] == [
        ("ab ", ["p"]),
        ("cd", ["p", "q"]),
        (" ef", ["q"]),
    ]
    # Offsets are code points, as the server stores them: an emoji with a skin tone is two.
    text = "hi 👋🏽 there"
    (wave,) = [s for s in span_segments(text, [{"start": 3, "end": 5, "label": "p"}], ["p"]) if s["labels"]]
    assert wave["text"] == "👋🏽"
    diff = word_diff("The quick brown fox.", "The slow brown fox, today.")
    assert [(p["op"], p["text"]) for p in diff if p["op"] != "same"] == [
        ("del", "quick"),
        ("ins", "slow"),
        ("del", "fox."),
        ("ins", "fox, today."),
    ]


def _signed_in(hub: Assay, org: str, member: Member) -> TestClient:
    admin.create_user(
        hub, org=org, email=member.email, role=member.role, workforce=member.workforce, password=PASSWORD
    )
    client = TestClient(create_app(hub))
    assert sign_in(client, member.email, PASSWORD).status_code == 303
    return client


def _view(page: str, question: str) -> str:
    found = re.search(
        rf'<dd class="view view-\w+(?: disagree)?" data-question="{question}">(.*?)</dd>', page, re.S
    )
    assert found, f"no view of {question}"
    return found.group(1)


def test_the_review_pages_draw_each_answer_with_its_widget(hub: Assay, api: TestClient) -> None:
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    reviewer = make_member(hub, org, role="reviewer")
    annotator = make_member(hub, org)
    created = api.post("/api/v1/projects", headers=manager.headers, json={"name": "views", "schema": SCHEMA})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert (
        api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=[{"data": ITEM}]).status_code
        == 201
    )
    lease = api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).json()
    shown = lease["item"]["display_order"]["responses"]
    answers = {
        "overall": 2,  # responses[1] as stored (y), better
        "order": [["y"], ["x"]],
        "claims": [{"start": 0, "end": 37, "label": "fact"}, {"start": 42, "end": 57, "label": "opinion"}],
        "rewrite": "The quick red fox jumps over the lazy dog.",
    }
    submitted = api.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        headers=annotator.headers,
        json={"answers": answers},
    )
    assert submitted.status_code == 201, submitted.text
    client = _signed_in(hub, org, reviewer)
    item_id = lease["item"]["id"]
    for url in (f"/items/{item_id}", f"/projects/{pid}/review"):
        page = client.get(url)
        assert page.status_code == 200, page.text
        text = page.text

        preference = _view(text, "overall")
        letter = "AB"[shown.index("y")]
        assert f"Response {letter} better" in preference
        sides = re.findall(r'data-response-id="(\w)" data-letter="(\w)"', preference)
        assert sides == [(rid, "AB"[i]) for i, rid in enumerate(shown)]  # as the annotator saw them
        preferred = re.search(r'class="pref-side preferred" data-response-id="(\w)"', preference)
        assert preferred and preferred.group(1) == "y"
        assert re.search(r'<li class="chosen" aria-current="true">2</li>', preference)

        ranking = _view(text, "order")
        assert re.findall(r'class="rank-entry" data-response-id="(\w)"', ranking) == ["y", "x"]

        spans = _view(text, "claims")
        marks = re.findall(r'<mark class="mark mark-(\d)" title="([^"]*)"[^>]*>(.*?)</mark>', spans)
        assert [(m, t, html.unescape(s)) for m, t, s in marks] == [
            ("0", "fact", PROMPT[0:37]),
            ("1", "opinion", PROMPT[42:57]),
        ]
        assert "<b>of</b>" not in spans and "&lt;b&gt;of&lt;/b&gt;" in spans  # untrusted text stays inert

        rewrite = _view(text, "rewrite")
        assert "<del>brown</del>" in rewrite and "<ins>red</ins>" in rewrite
        assert "Against draft: 1 word <del>removed</del>, 1 <ins>added</ins>" in rewrite


def test_side_by_side_answers_mark_the_questions_they_disagree_on(hub: Assay, api: TestClient) -> None:
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    reviewer = make_member(hub, org, role="reviewer")
    schema = {
        "inputs": [{"name": "text", "kind": "text"}],
        "questions": [
            {"name": "tone", "kind": "choice", "options": ["calm", "angry"]},
            {"name": "topic", "kind": "choice", "options": ["billing", "other"]},
        ],
    }
    body = {"name": "split", "schema": schema, "settings": {"overlap": 2}}
    pid = api.post("/api/v1/projects", headers=manager.headers, json=body).json()["id"]
    items = [{"data": {"text": "Where is my refund?"}}]
    assert api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=items).status_code == 201
    for tone in ("calm", "angry"):
        who = make_member(hub, org)
        lease = api.get(f"/api/v1/projects/{pid}/next", headers=who.headers).json()
        answers = {"tone": tone, "topic": "billing"}
        url = f"/api/v1/assignments/{lease['assignment_id']}/submit"
        assert api.post(url, headers=who.headers, json={"answers": answers}).status_code == 201
    page = _signed_in(hub, org, reviewer).get(f"/items/{lease['item']['id']}").text
    assert page.count('<dd class="view view-value disagree" data-question="tone">') == 2
    assert page.count('<dd class="view view-value" data-question="topic">') == 2
    assert page.count('<span class="badge disagree" title="The answers of this item differ here">') == 2


def test_paging_through_the_queue_shows_every_item_once(hub: Assay, api: TestClient) -> None:
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    reviewer = make_member(hub, org, role="reviewer")
    schema = {
        "inputs": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "ok", "kind": "choice", "options": ["y", "n"]}],
    }
    body = {"name": "long queue", "schema": schema, "settings": {"overlap": 1}}
    pid = api.post("/api/v1/projects", headers=manager.headers, json=body).json()["id"]
    items = [{"data": {"text": f"message {i}"}} for i in range(45)]
    assert api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=items).status_code == 201
    annotator = make_member(hub, org)
    for _ in range(45):
        lease = api.get(f"/api/v1/projects/{pid}/next", headers=annotator.headers).json()
        url = f"/api/v1/assignments/{lease['assignment_id']}/submit"
        assert api.post(url, headers=annotator.headers, json={"answers": {"ok": "y"}}).status_code == 201
    client = _signed_in(hub, org, reviewer)
    seen: list[int] = []
    url = f"/projects/{pid}/review"
    pages = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.text
        pages += 1
        seen += [int(n) for n in re.findall(r'<section class="card" aria-label="Item (\d+)"', page.text)]
        found = re.search(r'<a href="([^"]+)" rel="next"', page.text)
        url = html.unescape(found.group(1)) if found else ""
        if pages == 2:
            assert (
                'rel="prev"' in page.text
                and f'name="back" value="/projects/{pid}/review?page=2"' in page.text
            )
    assert pages == 3 and len(seen) == 45 and len(set(seen)) == 45
    assert "Nothing to review on page 9." in client.get(f"/projects/{pid}/review?page=9").text
    for bad in ("0", "two", "-1", "1e3"):
        refused = client.get(f"/projects/{pid}/review?page={bad}")
        assert refused.status_code == 422 and "page must be a whole number from 1" in refused.text


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_bulk_accept_takes_the_answers_the_page_showed_or_nothing(hub: Assay, api: TestClient) -> None:
    hub.config = dataclasses.replace(hub.config, secret_key="s" * 40)
    org = make_org(hub)
    manager = make_member(hub, org, role="manager")
    reviewer = make_member(hub, org, role="reviewer")
    schema = {
        "inputs": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "ok", "kind": "choice", "options": ["y", "n"]}],
    }
    pid = api.post(
        "/api/v1/projects", headers=manager.headers, json={"name": "bulk", "schema": schema}
    ).json()["id"]
    items = [{"data": {"text": f"bulk {i}"}} for i in range(4)]
    assert api.post(f"/api/v1/projects/{pid}/items", headers=manager.headers, json=items).status_code == 201
    annotator = make_member(hub, org)
    ids = []
    for who in (annotator, annotator, annotator, reviewer):  # the reviewer answers one item too
        lease = api.get(f"/api/v1/projects/{pid}/next", headers=who.headers).json()
        url = f"/api/v1/assignments/{lease['assignment_id']}/submit"
        ids.append(api.post(url, headers=who.headers, json={"answers": {"ok": "y"}}).json()["id"])
    # Another organisation's answer.
    other = make_org(hub)
    boss, stranger = make_member(hub, other, role="manager"), make_member(hub, other)
    fpid = api.post(
        "/api/v1/projects", headers=boss.headers, json={"name": "theirs", "schema": schema}
    ).json()["id"]
    api.post(f"/api/v1/projects/{fpid}/items", headers=boss.headers, json=items[:1])
    lease = api.get(f"/api/v1/projects/{fpid}/next", headers=stranger.headers).json()
    foreign = api.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        headers=stranger.headers,
        json={"answers": {"ok": "n"}},
    ).json()["id"]

    client = _signed_in(hub, org, reviewer)
    page = client.get(f"/projects/{pid}/review").text
    shown = [int(n) for n in re.findall(r'<input type="hidden" name="annotation" value="(\d+)">', page)]
    assert sorted(shown) == sorted(ids) and "Accept all 4 answers waiting on this page" in page
    url = f"/projects/{pid}/review/accept"
    form = {"csrf_token": _csrf(page), "back": f"/projects/{pid}/review"}

    # One id the reviewer may not see refuses the whole request: nothing is accepted.
    refused = client.post(
        url, data={**form, "annotation": [*map(str, shown), str(foreign)]}, follow_redirects=False
    )
    assert refused.status_code == 404
    assert "Accept all 4 answers" in client.get(f"/projects/{pid}/review").text
    bad = client.post(url, data={**form, "annotation": ["12x"]}, follow_redirects=False)
    assert bad.status_code == 422 and "annotation must be an answer&#39;s id" in bad.text

    done = client.post(url, data={**form, "annotation": [str(i) for i in shown]}, follow_redirects=False)
    assert done.status_code == 303
    after = client.get(done.headers["location"]).text
    assert "Saved: accepted 3 answers (skipped 1: judged meanwhile or your own)." in after
    with hub.db.read() as conn:
        verdicts = dict(conn.execute(sa.select(reviews.c.annotation_id, reviews.c.verdict)).all())
    assert verdicts == {ids[0]: "accept", ids[1]: "accept", ids[2]: "accept"}


_word = st.sampled_from(["a", "b", "the", "fox", " ", "\n", "  "])


@settings(max_examples=200, deadline=None)
@given(before=st.lists(_word, max_size=40).map("".join), after=st.lists(_word, max_size=40).map("".join))
def test_a_word_diff_rebuilds_both_texts(before: str, after: str) -> None:
    """Whatever the texts: the pieces not inserted are the original, those not deleted the answer."""
    diff = word_diff(before, after)
    assert "".join(p["text"] for p in diff if p["op"] != "ins") == before
    assert "".join(p["text"] for p in diff if p["op"] != "del") == after


def test_a_word_diff_of_huge_texts_stays_linear_and_exact() -> None:
    """Two long untrusted texts are not compared word by word past the budget: same ends kept,
    the middle one deletion and one insertion, both texts still rebuilt exactly."""
    before = "start " + "x " * 50_000 + "end"
    after = "start " + "y " * 50_000 + "end"
    diff = word_diff(before, after)
    assert [p["op"] for p in diff] == ["same", "del", "ins", "same"]
    assert "".join(p["text"] for p in diff if p["op"] != "ins") == before
    assert "".join(p["text"] for p in diff if p["op"] != "del") == after


_span = st.fixed_dictionaries(
    {"start": st.integers(-2, 12), "end": st.integers(-2, 12), "label": st.sampled_from(["p", "q", "r"])}
)


@settings(max_examples=200, deadline=None)
@given(spans=st.lists(_span, max_size=12))
def test_span_segments_label_each_piece_with_exactly_the_spans_over_it(spans: list[dict[str, Any]]) -> None:
    text = "abcdefghij"
    segments = span_segments(text, list(spans), ["p", "q", "r"])
    assert "".join(s["text"] for s in segments) == text
    at = 0
    for s in segments:
        piece_end = at + len(s["text"])
        expected = sorted(
            {
                sp["label"]
                for sp in spans
                if max(0, sp["start"]) < min(len(text), sp["end"])
                and max(0, sp["start"]) <= at
                and piece_end <= min(len(text), sp["end"])
            }
        )
        assert s["labels"] == expected, (s, spans)
        at = piece_end
