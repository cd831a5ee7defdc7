"""What the screen tells: the lease timer by the server's clock, one undo notice, and a page the
member's role does not open that says what they may do instead."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from tests.browser.conftest import Live, login
from tests.browser.test_annotate_flow import NOTE_SCHEMA, notes
from tests.browser.test_annotate_helpers import annotators, assignment, manager, open_screen, wait_moved_on

LEASE_SECONDS = 600


def seconds_left(page: Any) -> int:
    text = page.locator("#lease-timer").inner_text()
    found = re.fullmatch(r"Lease: (\d+):(\d\d) left", text)
    assert found, text
    return int(found[1]) * 60 + int(found[2])


def test_the_lease_timer_never_shows_more_than_the_lease(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[3]

    # A Date header that lags the server (HTTP dates are whole seconds, and servers cache them)
    # and a client clock an hour fast: neither may move the countdown.
    def stale_date(route: Any) -> None:
        response = route.fetch()
        headers = {
            **response.headers,
            "date": format_datetime(datetime.now(UTC) - timedelta(seconds=5), usegmt=True),
        }
        route.fulfill(response=response, headers=headers)

    with manager(browser, live) as boss:
        project = boss.create_project("timer", NOTE_SCHEMA, notes("timer", 3), lease_seconds=LEASE_SECONDS)
        page.clock.install(time=datetime.now(UTC) + timedelta(hours=1))
        page.route("**/api/v1/projects/*/next", stale_date)
        open_screen(page, who, project)
        first = seconds_left(page)
        assert LEASE_SECONDS - 30 < first <= LEASE_SECONDS
        page.clock.fast_forward("04:00")
        later = seconds_left(page)
        assert LEASE_SECONDS - 240 - 30 < later <= LEASE_SECONDS - 240
        # The next item (leased ahead while this one was on screen) counts from its own lease.
        current = assignment(page)
        page.keyboard.press("1")
        page.keyboard.type("done")
        page.keyboard.press("Control+Enter")
        wait_moved_on(page, current)
        assert seconds_left(page) <= LEASE_SECONDS
        # The screen leases ahead: a `next` may still be in the route when the page closes.
        page.unroute_all(behavior="ignoreErrors")


def test_undo_shows_one_notice(page: Any, browser: Any, live: Live) -> None:
    who = annotators(live)[3]
    with manager(browser, live) as boss:
        project = boss.create_project("one-notice", NOTE_SCHEMA, notes("one-notice", 3))
        open_screen(page, who, project)
        first = assignment(page)
        page.keyboard.press("1")
        page.keyboard.type("kept")
        page.keyboard.press("Control+Enter")
        wait_moved_on(page, first)
        page.locator("#undo").wait_for(state="visible")
        page.keyboard.press("Alt+u")
        page.wait_for_function(
            "a => document.querySelector('#annotate').dataset.assignmentId === a", arg=first
        )
        saying = page.get_by_text(re.compile("correcting your last answer", re.IGNORECASE))
        assert saying.count() == 1, saying.all_inner_texts()
        assert saying.is_visible()
        assert page.locator("#notice").is_hidden()
        # Cancelling the correction takes the notice away again.
        page.keyboard.press("Alt+s")
        page.wait_for_function(
            "a => document.querySelector('#annotate').dataset.assignmentId !== a", arg=first
        )
        assert page.locator("#revising").is_hidden()
        assert page.get_by_text(re.compile("correcting your last answer", re.IGNORECASE)).is_hidden()


def test_an_annotator_on_a_dashboard_is_shown_the_way_to_their_work(
    page: Any, browser: Any, live: Live
) -> None:
    who = annotators(live)[3]
    with manager(browser, live) as boss:
        project = boss.project_id("classify")
    login(page, who.email, who.password)
    response = page.goto(f"/projects/{project}/dashboard")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    message = page.get_by_role("alert").inner_text()
    assert "does not exist" not in message and "you can annotate this project" in message
    page.get_by_role("link", name="Annotate classify").click()
    page.wait_for_selector("#annotate[data-ready='true']")
    assert page.url.endswith(f"/projects/{project}/annotate")
    # A project that does not exist is just not found (so is another organisation's: tests/web).
    response = page.goto("/projects/99999/dashboard")
    assert response is not None and response.status == 404
    assert page.get_by_role("link", name="Back to my work").is_visible()
