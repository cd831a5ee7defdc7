"""Ten items of each demo project answered with the keyboard alone; the stored answers are read back."""

from __future__ import annotations

import random
from typing import Any

from tests.browser.conftest import Live
from tests.browser.test_annotate_helpers import (
    annotators,
    assignment,
    item_id,
    manager,
    open_screen,
    wait_moved_on,
    word_end,
)

ITEMS = 10


def record_leases(page: Any) -> dict[str, dict[str, Any]]:
    """Every lease the screen receives, by assignment id (to check the order it shows)."""
    leases: dict[str, dict[str, Any]] = {}

    def seen(response: Any) -> None:
        if response.url.endswith("/next") and response.status == 200:
            body = response.json()
            leases[str(body["assignment_id"])] = body

    page.on("response", seen)
    return leases


def test_classify_with_the_keyboard_only(page: Any, browser: Any, live: Live) -> None:
    rng = random.Random(11)
    who = annotators(live)[0]
    with manager(browser, live) as boss:
        project = boss.project_id("classify")
        open_screen(page, who, project)
        typed: list[tuple[int, str, str, int, int]] = []
        for _ in range(ITEMS):
            current = assignment(page)
            sentiment, topic = rng.randint(1, 3), rng.randint(1, 5)
            words = rng.choice([0, 1, 2, 3])
            label = rng.randint(1, 2)
            # The first question has focus; each single answer moves on to the next question.
            page.keyboard.press(str(sentiment))
            page.keyboard.press(str(topic))
            assert page.evaluate("document.activeElement.classList.contains('span-text')")
            for _ in range(words):
                page.keyboard.press("Control+Shift+ArrowRight")
            if words:
                page.keyboard.press(str(label))
                assert page.locator(".span-list li").count() == 1
            typed.append((item_id(page), current, "", sentiment * 10 + topic, words * 10 + label))
            page.keyboard.press("Enter")
            wait_moved_on(page, current)
        sentiments = ["positive", "neutral", "negative"]
        topics = ["billing", "shipping", "product quality", "account", "other"]
        labels = ["complaint", "request"]
        for item, _, _, choice_keys, span_keys in typed:
            stored = boss.annotation_of(item, who.email)
            text = stored["data"]["text"]
            words, label = divmod(span_keys, 10)
            end = word_end(text, words)
            start = 0
            while start < end and text[start].isspace():
                start += 1
            spans = [{"start": start, "end": end, "label": labels[label - 1]}] if words else []
            expected = {
                "sentiment": sentiments[choice_keys // 10 - 1],
                "topic": topics[choice_keys % 10 - 1],
                "issues": spans,
            }
            assert stored["answers"] == expected, text


def test_preference_with_the_keyboard_only(page: Any, browser: Any, live: Live) -> None:
    rng = random.Random(12)
    who = annotators(live)[1]
    leases = record_leases(page)
    with manager(browser, live) as boss:
        project = boss.project_id("preference")
        open_screen(page, who, project)
        typed: list[tuple[int, str, int, int, str]] = []
        for n in range(ITEMS):
            current = assignment(page)
            # The responses are shown in the order the lease recorded for this assignment.
            shown = page.locator(".response").evaluate_all("cards => cards.map(c => c.dataset.responseId)")
            assert shown == leases[current]["item"]["display_order"]["responses"]
            left = str(page.locator("fieldset[data-question='overall']").get_attribute("data-left"))
            overall, helpful = rng.randint(1, 7), rng.randint(1, 7)
            page.keyboard.press(str(overall))
            page.keyboard.press(str(helpful))
            why = f"Response {n}: the total is wrong — 12.5 ≠ 6 ✓" if n % 2 else ""
            if why:  # the optional box is entered on purpose, never on its own
                page.keyboard.press("Tab")
                page.keyboard.type(why)
            typed.append((item_id(page), left, overall, helpful, why))
            page.keyboard.press("Control+Enter")
            wait_moved_on(page, current)
        for item, left, overall, helpful, why in typed:
            stored = boss.annotation_of(item, who.email)
            first = stored["data"]["responses"][0]["id"]
            # Key 1 is "left much better": negative when the left one is responses[0] as stored.
            value = overall - 4 if left == first else 4 - overall
            expected: dict[str, Any] = {"overall": value, "helpful": helpful}
            if why:
                expected["why"] = why
            assert stored["answers"] == expected


def test_rubric_with_the_keyboard_only(page: Any, browser: Any, live: Live) -> None:
    rng = random.Random(13)
    who = annotators(live)[2]
    with manager(browser, live) as boss:
        project = boss.project_id("rubric")
        open_screen(page, who, project)
        typed: list[tuple[int, int, int, int, str, str]] = []
        for n in range(ITEMS):
            current = assignment(page)
            correctness, helpfulness, safety = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 3)
            page.keyboard.press(str(correctness))
            page.keyboard.press(str(helpfulness))
            page.keyboard.press(str(safety))
            comment = f"Step {n} divides by the wrong number" if n % 3 else ""
            edit = f"\n\nEdited in review {n}." if n % 2 else ""
            # Focus stays on the last choice: Tab enters the comment, a second Tab the rewrite
            # (prefilled with the response).
            if comment or edit:
                page.keyboard.press("Tab")
                page.keyboard.type(comment)
            if edit:
                page.keyboard.press("Tab")
                page.keyboard.press("Control+End")
                page.keyboard.type(edit)
            typed.append((item_id(page), correctness, helpfulness, safety, comment, edit))
            # Enter submits when focus never left the choices; Ctrl+Enter from a text box.
            page.keyboard.press("Control+Enter" if comment or edit else "Enter")
            wait_moved_on(page, current)
        for item, correctness, helpfulness, safety, comment, edit in typed:
            stored = boss.annotation_of(item, who.email)
            expected: dict[str, Any] = {
                "correctness": correctness,
                "helpfulness": helpfulness,
                "safety": ["safe", "borderline", "unsafe"][safety - 1],
            }
            if comment:
                expected["comment"] = comment
            if edit:
                # An untouched prefill is left out; an edited one is stored exactly as edited.
                expected["rewrite"] = stored["data"]["response"] + edit
            assert stored["answers"] == expected
