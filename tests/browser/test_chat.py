"""Live chat on the annotation screen, end to end: a real SmolLM2 behind llama-cpp's OpenAI-compatible
server, two model connections to it, an annotator who holds a conversation by keyboard (a rewrite,
a branch), and the dpo and sft exports read back through the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Live, seeded_server
from tests.browser.test_annotate_helpers import annotators, manager, open_screen, wait_moved_on
from tests.model_server import MODEL


@pytest.fixture(scope="module")
def chat_live(tmp_path_factory: pytest.TempPathFactory, model_server: Any) -> Iterator[Live]:
    """A server of its own (the shared one may call no model host) that may call loopback models."""
    data_dir: Path = tmp_path_factory.mktemp("chat-data")
    # One retry, so that a model that is down fails in a second rather than after the backoff.
    with seeded_server(data_dir, ASSAY_MODEL_HOSTS="127.0.0.1", ASSAY_MODEL_RETRIES="1") as server:
        yield server


@pytest.fixture
def page(browser: Any, chat_live: Live) -> Iterator[Any]:
    """A fresh browser context on the chat server (the shared `page` is on the other one)."""
    context = browser.new_context(base_url=chat_live.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


PARAMS_B = {"temperature": 0.9, "max_tokens": 24, "seed": 2}


def chat_project(boss: Any, base_url: str, name: str, b_url: str | None = None, **question: Any) -> int:
    # Two connections to the one server, told apart by their names and parameters.
    for model, url, params in (
        (f"{name}-a", base_url, {"temperature": 0.2, "max_tokens": 24, "seed": 1}),
        (f"{name}-b", b_url or base_url, PARAMS_B),
    ):
        boss.post("/api/v1/models", {"name": model, "base_url": url, "model": MODEL, "params": params})
    schema = {
        "inputs": [{"name": "topic", "kind": "text"}],
        "questions": [
            {
                "name": "conversation",
                "kind": "chat",
                "models": [f"{name}-a", f"{name}-b"],
                "strengths": 3,
                "ties": True,
                "rewrite": True,
                "max_turns": 4,
                **question,
            }
        ],
    }
    # Two items: the screen holds a lease on the second while the first is on it, which is what
    # brings the first back after a reload (`next` answers with a held lease only at the limit).
    items = [{"data": {"topic": "Talk about food."}, "external_id": f"{name}-{i}"} for i in range(2)]
    return boss.create_project(name, schema, items)


def answered(page: Any, key: str) -> None:
    """Press `key` (Enter in the message box, r) and wait until the new turn's answers are all in."""
    before = page.locator("fieldset.chat").get_attribute("data-turn")
    page.keyboard.press(key)
    page.wait_for_function(
        "b => { const f = document.querySelector('fieldset.chat');"
        " return f.dataset.turn !== b && f.dataset.busy === 'false'; }",
        arg=before,
        timeout=120_000,
    )
    failed = page.locator(".chat-candidate.state-failed")
    assert failed.count() == 0, page.locator(".chat-failure").inner_text()


def send(page: Any, text: str) -> None:
    page.keyboard.press("c")
    page.keyboard.type(text)
    answered(page, "Enter")


def tree(page: Any) -> dict[int, dict[str, Any]]:
    """The assignment's turns as the server holds them, read with the annotator's own session."""
    got = page.evaluate(
        "id => fetch(`/api/v1/assignments/${id}/turns`, {headers: {Accept: 'application/json'}}).then(r => r.json())",
        page.locator("#annotate").get_attribute("data-assignment-id"),
    )
    return {t["turn_id"]: t for t in got["turns"]}


def current_turn(page: Any) -> int:
    return int(page.locator(".chat-turn.current").get_attribute("data-turn-id"))


def export(boss: Any, project: int, fmt: str) -> list[dict[str, Any]]:
    response = boss.request.get(f"/api/v1/projects/{project}/export?format={fmt}")
    assert response.ok, f"{fmt}: {response.status} {response.text()}"
    return [json.loads(line) for line in response.text().splitlines() if line.strip()]


def content(t: dict[str, Any], cid: int) -> str:
    return next(c["content"] for c in t["candidates"] if c["id"] == cid)


def other(t: dict[str, Any], cid: int) -> str:
    return next(c["content"] for c in t["candidates"] if c["id"] != cid)


def test_a_three_turn_chat_with_a_rewrite_and_a_branch_exports_its_pairs(
    page: Any, browser: Any, chat_live: Live, model_server: Any
) -> None:
    who = annotators(chat_live)[0]
    with manager(browser, chat_live) as boss:
        project = chat_project(boss, model_server.base_url, "chat-live")
        open_screen(page, who, project)
        page.wait_for_selector("fieldset.chat[data-ready='true']")
        # Turn 1: A clearly better.  The text shows while it streams, in cards marked busy.
        page.evaluate(
            """() => {
              window.streamedText = false;
              new MutationObserver(() => {
                const busy = document.querySelectorAll('.chat-candidate[aria-busy="true"] .chat-candidate-body');
                if (Array.from(busy).some((b) => b.textContent.length > 0)) window.streamedText = true;
              }).observe(document.querySelector('fieldset.chat'), {subtree: true, childList: true, characterData: true});
            }"""
        )
        page.keyboard.type("Name a fruit.")
        answered(page, "Enter")
        assert page.evaluate("window.streamedText") is True
        assert page.locator('.chat-candidate[aria-busy="true"]').count() == 0
        first = current_turn(page)
        page.keyboard.press("1")
        page.keyboard.press("Shift+Digit2")
        # Turn 2 (left behind by the branch below): B slightly better.
        send(page, "Why do people like it?")
        abandoned = current_turn(page)
        page.keyboard.press("2")
        page.keyboard.press("Shift+Digit1")
        # Turn 3 on that branch: a tie.
        send(page, "Thanks!")
        page.keyboard.press("t")
        # Branch at turn 2: a different second message; the earlier branch stays on the server.
        page.keyboard.press("Alt+ArrowUp")
        page.keyboard.press("b")
        page.keyboard.press("Control+a")
        page.keyboard.type("Is it healthy?")
        answered(page, "Enter")
        second = current_turn(page)
        assert "Branch 2 of 2" in page.locator(".chat-turn.current").inner_text()
        # A much better, rewritten by the annotator (Esc leaves the box, the rewrite stays).
        page.keyboard.press("1")
        page.keyboard.press("Shift+Digit3")
        page.keyboard.press("e")
        page.locator(".chat-rewrite-input").fill("Yes, fruit is healthy in moderation.")
        page.keyboard.press("Escape")
        send(page, "Thanks again!")
        third = current_turn(page)
        rewritten = page.locator(".chat-answer.rewritten")
        assert "Written by you" in rewritten.inner_text()
        page.keyboard.press("2")
        page.keyboard.press("Shift+Digit2")
        held = tree(page)
        assert held[second]["parent"] == first and held[abandoned]["parent"] == first
        assert held[third]["parent"] == second
        assert held[first]["judgement"]["strength"] == 2
        assert held[second]["judgement"]["rewrite"] == "Yes, fruit is healthy in moderation."
        # Enter outside a text box submits the path on screen.
        before = page.locator("#annotate").get_attribute("data-assignment-id")
        page.keyboard.press("Escape")
        page.keyboard.press("Enter")
        wait_moved_on(page, str(before))

        # One pair per judged turn of the submitted path, in order; nothing of the other branch.
        a1 = held[first]["judgement"]["preferred"]
        a2 = held[second]["judgement"]["preferred"]
        b3 = held[third]["candidates"][1]["id"]  # "2" chose the second shown
        dpo = export(boss, project, "dpo")
        assert len(dpo) == 3, dpo
        text = json.dumps(dpo)
        assert "Why do people like it?" not in text
        chosen = [row["chosen"] for row in dpo]
        rejected = [row["rejected"] for row in dpo]

        def said(value: Any) -> str:
            if isinstance(value, list):
                return str(value[-1]["content"])
            if isinstance(value, dict):
                return str(value["content"])
            return str(value)

        # A pair compares what the models wrote; the rewrite rides along, and is what the
        # conversation went on with.
        assert [said(c) for c in chosen] == [
            content(held[first], a1),
            content(held[second], a2),
            content(held[third], b3),
        ]
        assert [said(r) for r in rejected] == [
            other(held[first], a1),
            other(held[second], a2),
            other(held[third], b3),
        ]
        assert [row["rewrite"] for row in dpo] == [None, "Yes, fruit is healthy in moderation.", None]
        assert [row["margin"] for row in dpo] == [2.0, 3.0, 2.0]
        assert [row["turn_id"] for row in dpo] == [first, second, third]
        # The last pair's prompt is the conversation so far, with the rewrite in the model's place.
        assert "Yes, fruit is healthy in moderation." in json.dumps(dpo[2]["prompt"])
        sft = export(boss, project, "sft")
        assert len(sft) >= 1, sft
        messages = sft[-1]["messages"]
        assert [m["role"] for m in messages if m["role"] != "system"] == ["user", "assistant"] * 3
        spoken = [m["content"] for m in messages if m["role"] != "system"]
        assert spoken == [
            "Name a fruit.",
            content(held[first], a1),
            "Is it healthy?",
            "Yes, fruit is healthy in moderation.",
            "Thanks again!",
            content(held[third], b3),
        ]


def test_a_reload_keeps_the_draft_message_the_unsent_rewrite_and_the_turns(
    page: Any, browser: Any, chat_live: Live, model_server: Any
) -> None:
    who = annotators(chat_live)[1]
    with manager(browser, chat_live) as boss:
        project = chat_project(boss, model_server.base_url, "chat-reload")
    open_screen(page, who, project)
    page.wait_for_selector("fieldset.chat[data-ready='true']")
    page.keyboard.type("Name a vegetable.")
    answered(page, "Enter")
    first = current_turn(page)
    answers = page.locator(".chat-candidate .chat-candidate-body").all_inner_texts()
    page.keyboard.press("2")
    page.keyboard.press("Shift+Digit3")
    page.keyboard.press("c")
    page.keyboard.type("And a half-written sec")
    page.keyboard.press("Escape")
    page.wait_for_timeout(600)  # the judgement is stored a moment after the last key
    # A rewrite being typed is not stored yet (it goes with the judgement when the box is left).
    page.keyboard.press("e")
    page.keyboard.press("Control+End")
    page.keyboard.type(" (my edit)")
    rewrite = page.locator(".chat-rewrite-input").input_value()
    assert rewrite.endswith(" (my edit)")
    assignment = page.locator("#annotate").get_attribute("data-assignment-id")
    page.reload()
    page.wait_for_selector("#annotate[data-ready='true']")
    page.wait_for_selector("fieldset.chat[data-ready='true']")
    assert page.locator("#annotate").get_attribute("data-assignment-id") == assignment
    assert page.locator(".chat-input").input_value() == "And a half-written sec"
    assert current_turn(page) == first
    assert page.locator(".chat-candidate .chat-candidate-body").all_inner_texts() == answers
    assert page.locator(".chat-candidate.picked").get_attribute("data-letter") == "B"
    assert page.locator(".chat-strength-option[aria-checked='true']").inner_text().endswith("much better")
    assert page.locator(".chat-rewrite-input").input_value() == rewrite


def test_the_item_opens_the_conversation_and_a_rating_is_given_by_keyboard(
    page: Any, browser: Any, chat_live: Live, model_server: Any
) -> None:
    who = annotators(chat_live)[2]
    with manager(browser, chat_live) as boss:
        project = chat_project(
            boss, model_server.base_url, "chat-item", input="topic", rating={"min": 1, "max": 5}, max_turns=2
        )
        open_screen(page, who, project)
        # Nothing to type first: the item's message is asked as soon as the screen opens.
        page.wait_for_function(
            "() => { const f = document.querySelector('fieldset.chat');"
            " return f && f.dataset.turn && f.dataset.busy === 'false'; }",
            timeout=120_000,
        )
        opening = page.locator(".chat-turn.current .chat-user")
        assert "from the item" in opening.inner_text() and "Talk about food." in opening.inner_text()
        assert page.locator(".chat-turn.current .chat-branch-here").count() == 0
        page.keyboard.press("2")
        page.keyboard.press("Shift+Digit1")
        # Without a rating the judgement is incomplete: the message is not sent.
        page.keyboard.press("c")
        page.keyboard.type("Which one is the sweetest?")
        page.keyboard.press("Enter")
        assert "Rate the chosen answer" in page.locator("fieldset.chat .problem").inner_text()
        page.keyboard.press("Escape")
        page.keyboard.press("g")
        page.keyboard.press("4")
        assert page.locator(".chat-rating-option[aria-checked='true']").inner_text() == "4"
        page.locator(".chat-input").focus()
        answered(page, "Enter")
        first, second = (
            int(t) for t in page.locator(".chat-turn").evaluate_all("ts => ts.map(t => t.dataset.turnId)")
        )
        page.keyboard.press("1")
        page.keyboard.press("Shift+Digit3")
        page.keyboard.press("g")
        page.keyboard.press("5")
        # The conversation is at its two turns: the composer says so, and Enter submits.
        assert "reached its 2 turns" in page.locator(".chat-composer-hint").inner_text()
        held = tree(page)
        before = str(page.locator("#annotate").get_attribute("data-assignment-id"))
        page.keyboard.press("Enter")
        wait_moved_on(page, before)
        sft = export(boss, project, "sft")
        assert len(sft) == 1, sft
        messages = [m for m in sft[0]["messages"] if m["role"] != "system"]
        assert [m["content"] for m in messages] == [
            "Talk about food.",
            content(held[first], held[first]["candidates"][1]["id"]),
            "Which one is the sweetest?",
            content(held[second], held[second]["candidates"][0]["id"]),
        ]
        dpo = export(boss, project, "dpo")
        assert [row["margin"] for row in dpo] == [1.0, 3.0]


def test_a_model_that_is_down_fails_its_answer_and_r_retries_the_turn(
    page: Any, browser: Any, chat_live: Live, model_server: Any
) -> None:
    who = annotators(chat_live)[3]
    with manager(browser, chat_live) as boss:
        # Nothing listens on port 9: the second model's answers fail.
        project = chat_project(boss, model_server.base_url, "chat-down", b_url="http://127.0.0.1:9/v1")
        open_screen(page, who, project)
        page.wait_for_selector("fieldset.chat[data-ready='true']")
        before = page.locator("fieldset.chat").get_attribute("data-turn")
        page.keyboard.type("Name a fruit.")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "b => { const f = document.querySelector('fieldset.chat');"
            " return f.dataset.turn !== b && f.dataset.busy === 'false'; }",
            arg=before,
            timeout=120_000,
        )
        failed_turn = current_turn(page)
        failure = page.locator(".chat-failure")
        assert failure.get_attribute("role") == "alert"
        assert "failed" in failure.inner_text() and "unreachable" in failure.inner_text()
        assert page.locator(".chat-candidate.state-failed").count() == 1
        # Focus is on Retry; the failed turn cannot be judged or continued.
        assert page.evaluate("document.activeElement.classList.contains('chat-retry')")
        assert "failed" in page.locator(".chat-composer-hint").inner_text()
        # The manager brings the model back under the same name; r asks again for the same message.
        down = next(m for m in boss.get("/api/v1/models")["models"] if m["name"] == "chat-down-b")
        gone = boss.request.delete(f"/api/v1/models/{down['id']}", headers={"X-CSRF-Token": boss.csrf})
        assert gone.status == 204
        boss.post(
            "/api/v1/models",
            {"name": "chat-down-b", "base_url": model_server.base_url, "model": MODEL, "params": PARAMS_B},
        )
        answered(page, "r")
        assert failure.is_hidden()
        retried = current_turn(page)
        held = tree(page)
        assert held[retried]["parent"] is None and held[retried]["content"] == "Name a fruit."
        assert held[failed_turn]["content"] == "Name a fruit."
        assert "Branch 2 of 2" in page.locator(".chat-turn.current").inner_text()
        page.keyboard.press("1")
        page.keyboard.press("Shift+Digit2")
        before = str(page.locator("#annotate").get_attribute("data-assignment-id"))
        page.keyboard.press("Enter")
        wait_moved_on(page, before)
        dpo = export(boss, project, "dpo")
        assert [row["turn_id"] for row in dpo] == [retried]
