"""A reviewer sees each answer drawn with its question's kind, readable, in Chromium."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from assay.storage.tables import reviews
from assay.workflows import annotate, ingest
from assay.workflows import projects as project_flows
from tests.browser.conftest import Live, login
from tests.browser.test_annotate_helpers import (
    annotators,
    assignment,
    item_id,
    manager,
    open_screen,
    wait_moved_on,
)
from tests.browser.test_annotate_widgets import low_contrast
from tests.browser.test_pages_flows import _actor

SHOTS = os.environ.get("ASSAY_SCREENSHOTS")


def test_a_reviewer_sees_the_preference_as_the_annotator_gave_it(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[5]
    with manager(browser, live) as boss:
        project = boss.project_id("preference")
    open_screen(page, who, project)
    current, item = assignment(page), item_id(page)
    left = page.locator(".response").first.get_attribute("data-response-id")
    # Key 1: the left response much better; then the helpfulness rating; Enter submits.
    page.keyboard.press("1")
    page.keyboard.press("6")
    page.keyboard.press("Enter")
    wait_moved_on(page, current)

    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    try:
        review = context.new_page()
        reviewer = live.logins["reviewer"]
        login(review, reviewer.email, reviewer.password)
        review.goto(f"/items/{item}")
        card = review.locator(f"article.answer[aria-label='Answer by {who.email}']")
        view = card.locator("dd[data-question='overall']")
        assert view.locator(".pref-summary").inner_text().startswith("Response A much better")
        preferred = view.locator(".pref-side.preferred")
        assert preferred.count() == 1
        assert preferred.get_attribute("data-response-id") == left
        assert preferred.get_attribute("data-letter") == "A"
        assert view.locator(".pref-scale li.chosen").count() == 1
        assert view.locator(".pref-scale li").first.get_attribute("class") == "chosen"  # left end
        assert card.locator("dd[data-question='helpful']").inner_text().strip() == "6"
        assert low_contrast(review, "main") == []
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            card.screenshot(path=str(Path(SHOTS) / "review-preference.png"))
    finally:
        context.close()


def test_a_reviewer_judges_a_queue_by_keyboard_only(page: Any, live: Live) -> None:
    schema = {
        "inputs": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "ok", "kind": "choice", "options": ["y", "n"]}],
    }
    boss = _actor(live, live.logins["manager"].email)
    worker = _actor(live, annotators(live)[6].email)
    with live.hub() as hub:
        project = project_flows.create(hub, boss, name="review-keys", schema=schema, settings={"overlap": 1})
        lines = "\n".join(json.dumps({"data": {"text": f"keyboard review {i}"}}) for i in range(5))
        ingest.import_items(hub, boss, project, source=io.BytesIO(lines.encode()), fmt="jsonl", name="t")
        ids = []
        for _ in range(5):
            lease = annotate.next_item(hub, worker, project.id)
            assert lease is not None
            ids.append(annotate.submit(hub, worker, lease.assignment_id, answers={"ok": "y"})[0]["id"])
    reviewer = live.logins["reviewer"]
    login(page, reviewer.email, reviewer.password)
    page.goto(f"/projects/{project.id}/review")
    focused = "document.activeElement.closest('article.answer')?.dataset.annotationId"
    # Arriving, the first answer waiting for review has focus; A accepts it, and after the reload
    # focus is on the next one still waiting.
    for expected in ids[:3]:
        page.wait_for_function(f"() => {focused} === '{expected}'")
        page.keyboard.press("a")
        page.wait_for_url(lambda url, e=expected: f"done=accept-{e}" in url)
    # F opens the fix of the focused answer with its field in focus; Esc comes back to the answer.
    page.wait_for_function(f"() => {focused} === '{ids[3]}'")
    page.keyboard.press("f")
    assert page.evaluate("document.activeElement.closest('.fix-widgets') !== null")
    page.keyboard.press("Escape")
    assert page.evaluate(focused) == str(ids[3])
    # J moves to the next answer; R goes to its reason, and Enter there rejects it.
    page.keyboard.press("j")
    assert page.evaluate(focused) == str(ids[4])
    page.keyboard.press("r")
    page.keyboard.type("not a real answer")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: f"done=reject-{ids[4]}" in url)
    with live.hub() as hub, hub.db.read() as conn:
        verdicts = dict(
            conn.execute(
                sa.select(reviews.c.annotation_id, reviews.c.verdict).where(reviews.c.annotation_id.in_(ids))
            ).all()
        )
    assert verdicts == {ids[0]: "accept", ids[1]: "accept", ids[2]: "accept", ids[4]: "reject"}
    assert low_contrast(page, "main") == []


FIX_SCHEMA = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "tone", "kind": "choice", "options": ["calm", "angry"]},
        {"name": "marks", "kind": "spans", "labels": ["complaint"], "required": False},
        {"name": "note", "kind": "text", "min_length": 5},
    ],
}


def test_a_fix_is_made_with_the_widgets_and_a_refused_one_keeps_what_was_typed(page: Any, live: Live) -> None:
    boss = _actor(live, live.logins["manager"].email)
    worker = _actor(live, annotators(live)[7].email)
    with live.hub() as hub:
        project = project_flows.create(
            hub, boss, name="fix-widgets", schema=FIX_SCHEMA, settings={"overlap": 1}
        )
        record = json.dumps({"data": {"text": "My parcel never came."}})
        ingest.import_items(hub, boss, project, source=io.BytesIO(record.encode()), fmt="jsonl", name="t")
        lease = annotate.next_item(hub, worker, project.id)
        assert lease is not None
        stored, _ = annotate.submit(
            hub, worker, lease.assignment_id, answers={"tone": "calm", "note": "fine by me"}
        )
    reviewer = live.logins["reviewer"]
    login(page, reviewer.email, reviewer.password)
    page.goto(f"/items/{lease.item_id}")
    card = page.locator(f"article.answer[data-annotation-id='{stored['id']}']")
    card.locator("details.fix summary").click()
    fix = card.locator(".fix-widgets")
    # The annotator's answer is set in the same widgets the annotation screen uses; no JSON box.
    assert fix.locator("fieldset[data-question='tone'] input:checked + kbd").inner_text() == "1"
    assert fix.locator("textarea").input_value() == "fine by me"
    assert card.locator("textarea[name='answers']").count() == 0
    # A fix the server refuses (the note is too short) says why and keeps what was entered.
    fix.locator("fieldset[data-question='tone'] label.option").nth(1).click()
    fix.locator("textarea").fill("bad")
    card.get_by_role("button", name="Save fix").click()
    problem = card.locator(".fix-problem")
    problem.wait_for(state="visible")
    assert problem.inner_text().startswith("Not saved:") and "still here" in problem.inner_text()
    assert fix.locator("fieldset[data-question='note'] .problem").is_visible()
    assert fix.locator("textarea").input_value() == "bad"
    assert fix.locator("fieldset[data-question='tone'] input:checked + kbd").inner_text() == "2"
    assert low_contrast(page, "main") == []
    if SHOTS:
        card.screenshot(path=str(Path(SHOTS) / "review-fix.png"))
    # Fixed for real: a span marked by keyboard (three words), a longer note.
    fix.locator("textarea").fill("the parcel is lost")
    fix.locator(".span-text").focus()
    for _ in range(3):
        page.keyboard.press("Control+Shift+ArrowRight")
    page.keyboard.press("1")
    card.get_by_role("button", name="Save fix").click()
    page.wait_for_url(lambda url: f"done=fix-{stored['id']}" in url)
    with live.hub() as hub, hub.db.read() as conn:
        fixed = conn.execute(
            sa.select(reviews.c.verdict, reviews.c.answers).where(reviews.c.annotation_id == stored["id"])
        ).one()
    assert fixed.verdict == "fix"
    assert fixed.answers == {
        "tone": "angry",
        "marks": [{"start": 0, "end": 15, "label": "complaint"}],  # "My parcel never"
        "note": "the parcel is lost",
    }


EVERY_KIND = {
    "inputs": [
        {"name": "text", "kind": "text"},
        {"name": "pair", "kind": "responses"},
        {"name": "trio", "kind": "responses"},
    ],
    "questions": [
        {"name": "tone", "kind": "choice", "options": ["calm", "angry"]},
        {"name": "tags", "kind": "multi_choice", "options": ["refund", "late", "rude"]},
        {"name": "urgency", "kind": "rating", "scale": {"min": 1, "max": 5}},
        {"name": "better", "kind": "preference", "input": "pair", "scale": {"min": -2, "max": 2}},
        {"name": "order", "kind": "ranking", "input": "trio"},
        {"name": "marks", "kind": "spans", "input": "text", "labels": ["complaint"]},
        {"name": "note", "kind": "text", "required": False},
    ],
}


def test_a_reviewer_reviews_twenty_answers_of_every_kind_by_keyboard(page: Any, live: Live) -> None:
    boss = _actor(live, live.logins["manager"].email)
    worker = _actor(live, annotators(live)[2].email)
    responses = [{"id": r, "content": f"Response {r} text"} for r in ("p", "q", "r")]
    with live.hub() as hub:
        project = project_flows.create(
            hub, boss, name="every-kind", schema=EVERY_KIND, settings={"overlap": 1}
        )
        lines = "\n".join(
            json.dumps(
                {
                    "data": {
                        "text": f"Order {i} arrived late and broken.",
                        "pair": responses[:2],
                        "trio": responses,
                    }
                }
            )
            for i in range(20)
        )
        ingest.import_items(hub, boss, project, source=io.BytesIO(lines.encode()), fmt="jsonl", name="t")
        ids = []
        for i in range(20):
            lease = annotate.next_item(hub, worker, project.id)
            assert lease is not None
            answers = {
                "tone": ["calm", "angry"][i % 2],
                "tags": ["late"] if i % 3 else ["late", "refund"],
                "urgency": 1 + i % 5,
                "better": (i % 5) - 2,
                "order": [["q"], ["p", "r"]] if i % 2 else [["r"], ["q"], ["p"]],
                "marks": [{"start": 0, "end": 5 + len(str(i)), "label": "complaint"}],
                "note": f"seen {i}",
            }
            ids.append(annotate.submit(hub, worker, lease.assignment_id, answers=answers)[0]["id"])
    reviewer = live.logins["reviewer"]
    login(page, reviewer.email, reviewer.password)
    page.goto(f"/projects/{project.id}/review")
    card = page.locator("article.answer").first
    for kind, question in [
        ("value", "tone"),
        ("value", "tags"),
        ("value", "urgency"),
        ("preference", "better"),
        ("ranking", "order"),
        ("spans", "marks"),
        ("text", "note"),
    ]:
        assert card.locator(f"dd.view-{kind}[data-question='{question}']").count() == 1, question
    assert card.locator("dd[data-question='marks'] mark").count() == 1
    assert low_contrast(page, "main") == []
    focused = "document.activeElement.closest('article.answer')?.dataset.annotationId"
    accepted = []
    for _ in range(20):
        page.wait_for_function(f"() => ({focused} || '') !== ''")
        now = page.evaluate(focused)
        page.keyboard.press("a")
        page.wait_for_url(lambda url, n=now: f"done=accept-{n}" in url)
        accepted.append(int(now))
    assert sorted(accepted) == sorted(ids)
    assert "Nothing to review." in page.locator("main").inner_text()
