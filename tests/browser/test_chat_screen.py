"""The live-chat widget against a stand-in for the turns API (no model): failures and retry, the
server-sent events split anywhere, the branch switcher, and the submission shape.

The stand-in answers in the browser's network layer (Playwright routes), so these tests pin the
screen's side of the contract in notes of the API (GET/POST/PUT /assignments/{id}/turns) with
answers a real model cannot be made to give on cue: a failed candidate, an error event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Live
from tests.browser.test_annotate_helpers import annotators, manager, open_screen
from tests.browser.test_annotate_widgets import low_contrast
from tests.browser.test_xss_corpus import CSP_LISTENER, INSPECT, MARK, PAYLOAD

CHAT = {
    "name": "conversation",
    "kind": "chat",
    "models": ["a", "b"],
    "candidates": 2,
    "max_turns": 4,
    "judge": "preference",
    "strengths": 3,
    "ties": True,
    "rewrite": True,
    "rating": None,
    "input": None,
    "system": None,
}

HOLDER = {
    "inputs": [{"name": "topic", "kind": "text"}],
    "questions": [{"name": "ok", "kind": "choice", "options": ["yes", "no"]}],
}


class FakeTurns:
    """The turns API of one assignment, in memory; `fail` names the models whose answers fail."""

    def __init__(self, question: dict[str, Any]) -> None:
        self.question = question
        self.turns: dict[int, dict[str, Any]] = {}
        self.next_turn = 100
        self.next_cand = 500
        self.fail: set[str] = set()
        self.fail_next_turn_with_error = False
        self.refuse_puts = False
        self.puts: list[tuple[int, dict[str, Any]]] = []
        self.submitted: list[dict[str, Any]] = []

    def tree(self) -> dict[str, Any]:
        turns = []
        for t in sorted(self.turns.values(), key=lambda t: t["turn_id"]):
            kids = [k["turn_id"] for k in self.turns.values() if k["parent"] == t["turn_id"]]
            turns.append({**t, "children": kids})
        return {
            "ok": True,
            "question": self.question,
            "max_turns": self.question["max_turns"],
            "turns": turns,
        }

    def post(self, body: dict[str, Any]) -> tuple[int, str, str]:
        parent = body.get("parent")
        if parent is not None and (parent not in self.turns or self.turns[parent]["judgement"] is None):
            return (
                409,
                "application/json",
                json.dumps({"ok": False, "error": "the parent turn is not judged"}),
            )
        tid = self.next_turn
        self.next_turn += 1
        n = self.question["candidates"]
        models = [self.question["models"][k % len(self.question["models"])] for k in range(n)]
        ids = list(range(self.next_cand, self.next_cand + n))
        self.next_cand += n
        head = {"turn_id": tid, "parent": parent, "content": body.get("content"), "candidates": []}
        head["candidates"] = [
            {"id": i, "model": m, "state": "pending"} for i, m in zip(ids, models, strict=True)
        ]
        events = [("turn", head)]
        if self.fail_next_turn_with_error:
            self.fail_next_turn_with_error = False
            events.append(("error", {"error": "the model connection is missing"}))
            return 200, "text/event-stream", self._stream(events)
        cands = []
        for i, m in zip(ids, models, strict=True):
            if m in self.fail:
                cands.append(
                    {"id": i, "model": m, "content": "", "state": "failed", "error": f"model {m} timed out"}
                )
                continue
            text = f"Answer {m} to: {body.get('content')} <img src=x onerror=alert(1)>"
            for piece in (text[:7], text[7:15], text[15:]):
                events.append(("delta", {"id": i, "text": piece}))
            cands.append({"id": i, "model": m, "content": text, "state": "done"})
            events.append(("candidate", cands[-1]))
        for c in cands:
            if c["state"] == "failed":
                events.append(("candidate", c))
        author = "human" if body.get("content") is not None else "item"
        turn = {**head, "author": author, "candidates": cands, "judgement": None}
        self.turns[tid] = turn
        events.append(("done", {**turn, "children": []}))
        return 200, "text/event-stream", self._stream(events)

    @staticmethod
    def _stream(events: list[tuple[str, Any]]) -> str:
        # CRLF line ends on purpose: the reader must take them as well as LF.
        return "".join(f"event: {name}\r\ndata: {json.dumps(data)}\r\n\r\n" for name, data in events)

    def put(self, tid: int, body: dict[str, Any]) -> tuple[int, str]:
        self.puts.append((tid, body))
        if self.refuse_puts:
            return 409, json.dumps({"ok": False, "error": "assignment 1 is no longer a live lease"})
        if tid not in self.turns:
            return 404, json.dumps({"ok": False, "error": "no such turn"})
        kids = [k for k in self.turns.values() if k["parent"] == tid]
        if kids and self.turns[tid]["judgement"] != body:
            return 409, json.dumps({"ok": False, "error": "the turn has later turns"})
        self.turns[tid]["judgement"] = body
        return 200, json.dumps({"ok": True, "turn_id": tid, "judgement": body})


@pytest.fixture(autouse=True)
def _let_go_of_routes(page: Any) -> Iterator[None]:
    # The screen leases ahead: a `next` may still be in a route when the test ends.
    yield
    page.unroute_all(behavior="ignoreErrors")


def install(page: Any, fake: FakeTurns) -> None:
    def next_lease(route: Any) -> None:
        response = route.fetch()
        if response.status != 200 or not response.body():
            route.fulfill(response=response)  # nothing left (204) or a refusal: as the server said
            return
        lease = response.json()
        lease["questions"] = [fake.question]
        route.fulfill(response=response, body=json.dumps(lease))

    def turns(route: Any) -> None:
        request = route.request
        path = request.url.split("?")[0]
        if request.method == "GET":
            route.fulfill(status=200, content_type="application/json", body=json.dumps(fake.tree()))
        elif request.method == "POST":
            status, kind, body = fake.post(json.loads(request.post_data or "{}"))
            route.fulfill(status=status, content_type=kind, body=body)
        else:
            tid = int(path.rsplit("/", 1)[1])
            status, body = fake.put(tid, json.loads(request.post_data or "{}"))
            route.fulfill(status=status, content_type="application/json", body=body)

    def submit(route: Any) -> None:
        fake.submitted.append(json.loads(route.request.post_data or "{}"))
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps({"ok": True, "id": 1, "assignment_id": 1, "item_id": 1}),
        )

    page.route("**/api/v1/projects/*/next", next_lease)
    page.route("**/api/v1/assignments/*/turns", turns)
    page.route("**/api/v1/assignments/*/turns/*", turns)
    page.route("**/api/v1/assignments/*/submit", submit)


def on_screen(page: Any) -> str:
    """The id of the turn whose answers are on screen ("" before the first)."""
    return str(page.locator("fieldset.chat").get_attribute("data-turn"))


def answered(page: Any, key: str, before: str | None = None) -> None:
    """Press `key` and wait until another turn's answers are all in."""
    before = on_screen(page) if before is None else before
    page.keyboard.press(key)
    page.wait_for_function(
        "b => { const f = document.querySelector('fieldset.chat');"
        " return f.dataset.turn !== b && f.dataset.busy === 'false'; }",
        arg=before,
    )


def send(page: Any, text: str) -> None:
    page.keyboard.press("c")
    page.keyboard.type(text)
    answered(page, "Enter")


def test_a_chat_by_keyboard_with_a_failure_a_retry_and_a_branch(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[7]
    fake = FakeTurns(CHAT)
    with manager(browser, live) as boss:
        project = boss.create_project("chat-stub", HOLDER, [{"data": {"topic": "t"}}])
    install(page, fake)
    open_screen(page, who, project)
    page.wait_for_selector("fieldset.chat[data-ready='true']")
    # The composer has focus on an empty conversation; Shift+Enter is a new line, Enter sends.
    assert page.evaluate("document.activeElement.classList.contains('chat-input')")
    page.keyboard.type("Hello")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("there")
    answered(page, "Enter")
    assert fake.turns[100]["content"] == "Hello\nthere"
    # Model text is inert: the markup in it is text, no image was made.
    assert page.locator(".chat-candidate img").count() == 0
    assert "<img src=x" in page.locator(".chat-candidate").first.inner_text()
    # Enter before judging does not submit: it says what is missing.
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    assert fake.submitted == []
    assert "Choose the better answer" in page.locator("fieldset.chat .problem").inner_text()
    # 2 prefers B, Shift+3 says much better; the judgement is stored before the next turn.
    page.keyboard.press("2")
    page.keyboard.press("Shift+Digit3")
    assert page.locator(".chat-candidate.picked").get_attribute("data-letter") == "B"
    fake.fail = {"b"}  # the next turn's second candidate fails
    send(page, "Second")
    assert fake.puts[-1] == (100, {"preferred": 501, "strength": 3})
    failure = page.locator(".chat-failure")
    assert "Answer B failed: model b timed out" in failure.inner_text()
    assert failure.get_attribute("role") == "alert"
    assert low_contrast(page, "fieldset.chat") == []
    # r retries: the same message again, a new sibling; the failed turn stays aside.
    fake.fail = set()
    page.keyboard.press("Escape")
    answered(page, "r")
    assert page.locator(".chat-failure").is_hidden()
    assert fake.turns[102]["parent"] == 100 and fake.turns[102]["content"] == "Second"
    assert "Branch 2 of 2" in page.locator(".chat-turn.current").inner_text()
    page.keyboard.press("1")
    page.keyboard.press("Shift+Digit1")
    # e rewrites the chosen answer; Esc leaves the box and keeps the rewrite.
    page.keyboard.press("e")
    box = page.locator(".chat-rewrite-input")
    assert box.evaluate("b => b === document.activeElement")
    box.fill("My better answer")
    page.keyboard.press("Escape")
    assert not box.evaluate("b => b === document.activeElement")
    send(page, "Third")
    assert fake.puts[-1] == (102, {"preferred": 504, "strength": 1, "rewrite": "My better answer"})
    rewritten = page.locator(".chat-answer.rewritten")
    assert "Written by you" in rewritten.inner_text() and "My better answer" in rewritten.inner_text()
    page.keyboard.press("t")  # a tie on the third turn
    # Alt+Up twice selects the first turn; b branches there with a different first message.
    page.keyboard.press("Alt+ArrowUp")
    page.keyboard.press("Alt+ArrowUp")
    assert page.locator(".chat-turn.selected .chat-turn-number").inner_text() == "Turn 1"
    page.keyboard.press("b")
    assert page.evaluate("document.activeElement.classList.contains('chat-input')")
    page.keyboard.press("Control+a")
    page.keyboard.type("Another start")
    answered(page, "Enter")
    newest = max(fake.turns)
    assert fake.turns[newest]["parent"] is None and fake.turns[newest]["content"] == "Another start"
    assert "Branch 2 of 2" in page.locator(".chat-turn.current").inner_text()
    # Switch back to the first branch with ",": the three turns are there again, judged as before.
    page.keyboard.press("Escape")
    page.keyboard.press(",")
    page.wait_for_function("() => document.querySelectorAll('.chat-turn[data-turn-id]').length === 3")
    assert page.locator(".chat-tie").get_attribute("aria-pressed") == "true"
    assert low_contrast(page, "fieldset.chat") == []
    # Enter outside a text box submits the path: one entry per judged turn, in order.
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#done-count').textContent === '1'")
    answers = fake.submitted[-1]["answers"]["conversation"]["turns"]
    assert answers == [
        {"turn_id": 100, "preferred": 501, "strength": 3},
        {"turn_id": 102, "preferred": 504, "strength": 1, "rewrite": "My better answer"},
        {"turn_id": 103, "preferred": "tie"},
    ]


def test_an_error_event_keeps_the_message_to_send_again(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[8]
    fake = FakeTurns(CHAT)
    with manager(browser, live) as boss:
        project = boss.create_project("chat-stub-error", HOLDER, [{"data": {"topic": "t"}}])
    install(page, fake)
    open_screen(page, who, project)
    page.wait_for_selector("fieldset.chat[data-ready='true']")
    fake.fail_next_turn_with_error = True
    page.keyboard.type("Will this work?")
    page.keyboard.press("Enter")
    failure = page.locator(".chat-failure")
    failure.wait_for(state="visible")
    assert "the model connection is missing" in failure.inner_text()
    assert page.locator(".chat-input").input_value() == "Will this work?"
    assert page.locator(".chat-turn[data-turn-id]").count() == 0
    page.locator(".chat-input").focus()
    answered(page, "Enter", before="")
    assert failure.is_hidden()
    # A judgement the server refuses says so, and the next message waits for it.
    fake.refuse_puts = True
    page.keyboard.press("1")
    page.keyboard.press("Shift+Digit2")
    failure.wait_for(state="visible")
    assert "not saved: assignment 1 is no longer a live lease" in failure.inner_text()
    page.keyboard.press("c")
    page.keyboard.type("Next")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert page.locator(".chat-input").input_value() == "Next" and len(fake.turns) == 1
    fake.refuse_puts = False
    answered(page, "Enter")
    assert failure.is_hidden() and len(fake.turns) == 2


def test_a_ranking_of_three_by_keyboard_and_mouse(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[3]
    question = {**CHAT, "models": ["a", "b", "c"], "candidates": 3, "judge": "ranking"}
    fake = FakeTurns(question)
    with manager(browser, live) as boss:
        project = boss.create_project("chat-stub-rank", HOLDER, [{"data": {"topic": "t"}}])
    install(page, fake)
    open_screen(page, who, project)
    page.wait_for_selector("fieldset.chat[data-ready='true']")
    page.keyboard.type("Rank these")
    answered(page, "Enter")
    cards = page.locator(".chat-candidate")
    assert cards.count() == 3
    # Focus is on A: 2 puts it second and moves on to B; 1 puts B first; C is clicked (next place).
    page.keyboard.press("2")
    page.keyboard.press("1")
    cards.nth(2).click()
    marks = page.locator(".chat-candidate-mark").all_inner_texts()
    assert marks == ["2nd", "1st", "3rd"]
    # The rewrite is of the single best one: B.
    page.keyboard.press("e")
    assert "answer B" in page.locator(".chat-rewrite-label").inner_text()
    page.keyboard.press("Escape")
    send(page, "And now?")
    assert fake.puts[-1] == (100, {"ranking": [[501], [500], [502]]})
    # Equal places tie: A and B share the first.
    page.keyboard.press("1")
    page.keyboard.press("1")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#done-count').textContent === '1'")
    assert fake.submitted[-1]["answers"]["conversation"]["turns"] == [
        {"turn_id": 100, "ranking": [[501], [500], [502]]},
        {"turn_id": 101, "ranking": [[503, 504], [505]]},
    ]


def test_an_opening_turn_that_could_not_be_made_is_retried_with_r(
    page: Any, browser: Any, live: Live
) -> None:
    who = annotators(live)[4]
    fake = FakeTurns({**CHAT, "input": "topic"})
    fake.fail_next_turn_with_error = True
    with manager(browser, live) as boss:
        project = boss.create_project("chat-stub-opening", HOLDER, [{"data": {"topic": "t"}}])
    install(page, fake)
    open_screen(page, who, project)
    failure = page.locator(".chat-failure")
    failure.wait_for(state="visible")
    assert "The opening message was not answered: the model connection is missing" in failure.inner_text()
    assert page.locator(".chat-retry").is_visible()
    assert page.locator(".chat-composer").is_hidden()  # the item writes the first message, not the annotator
    page.locator("fieldset.chat").focus()
    answered(page, "r", before="")
    assert failure.is_hidden() and fake.turns[101]["author"] == "item"
    assert "from the item" in page.locator(".chat-turn.current").inner_text()
    assert page.locator(".chat-composer").is_visible()


def test_the_xss_corpus_in_messages_answers_and_rewrites_renders_inert(
    page: Any, browser: Any, live: Live
) -> None:
    who = annotators(live)[5]
    fake = FakeTurns(CHAT)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(CSP_LISTENER)
    with manager(browser, live) as boss:
        project = boss.create_project("chat-stub-xss", HOLDER, [{"data": {"topic": "t"}}])
    install(page, fake)
    open_screen(page, who, project)
    page.wait_for_selector("fieldset.chat[data-ready='true']")
    # The payloads go out as the annotator's message and come back in both streamed answers.
    page.locator(".chat-input").fill(PAYLOAD)
    answered(page, "Enter")
    page.keyboard.press("1")
    page.keyboard.press("Shift+Digit1")
    page.keyboard.press("e")
    page.locator(".chat-rewrite-input").fill(PAYLOAD)
    page.keyboard.press("Escape")
    page.locator(".chat-input").fill(PAYLOAD)
    answered(page, "Enter")
    found = page.evaluate(INSPECT)
    assert found["bad"] == [] and found["flag"] is None and found["csp"] == [], found
    assert dialogs == []
    assert found["text"].count(MARK) >= 5  # two messages, the rewrite, two answers: as text
