"""A corpus of XSS payloads planted everywhere a user can write renders inert on every page.

Payloads go into item data (text, Markdown, chat, responses, external id), schema labels (option and
span-label names, question labels and help, scale-point labels), hotkeys, instructions, project
names, a user's name and a workforce name, and into answers.  On every page where they show, real
Chromium must run none of them (no flag set, no dialog, no CSP violation), the DOM must hold no
event-handler attribute, no javascript:/data: URL, no inline script, style, frame or base element,
and no request may leave the origin.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlparse

from assay.workflows import admin, annotate, ingest
from assay.workflows import projects as project_flows
from tests.browser.conftest import PASSWORD, Live, login
from tests.browser.test_annotate_helpers import annotators
from tests.browser.test_pages_flows import _actor

MARK = "XSS-MARK"
PAYLOADS = [
    '<script>window.__xss="script"</script>',
    "<img src=x onerror=\"window.__xss='img'\">",
    '<svg onload="window.__xss=\'svg\'"><script>window.__xss="svg-script"</script></svg>',
    '"><svg/onload=alert(1)>',
    "'><a href=\"javascript:window.__xss='a'\">js link</a>",
    "[md link](javascript:window.__xss='md')",
    "![md image](https://evil.invalid/pixel.png)",
    "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="data:text/html,<script>alert(1)</script>">data href</a>',
    "<style>@import url(https://evil.invalid/x.css); body{background:url(https://evil.invalid/bg)}</style>",
    '<div style="background:url(https://evil.invalid/inline)">css</div>',
    '<iframe src="https://evil.invalid/frame"></iframe><object data="https://evil.invalid/o"></object>',
    '<meta http-equiv="refresh" content="0;url=https://evil.invalid/"><base href="https://evil.invalid/">',
    "</textarea></script><script>alert(2)</script>",
    "{{7*7}} ${alert(3)} `${alert(4)}` javascript:alert(5)",
    '<math><mtext><table><mglyph><style><img src=x onerror="alert(6)">',
]
PAYLOAD = MARK + " " + " ".join(PAYLOADS)
HOTKEYS = ['"', "<", ">", "'", "&", "`", "/", "="]

SCHEMA: dict[str, Any] = {
    "inputs": [
        {"name": "prompt", "kind": "markdown"},
        {"name": "text", "kind": "text"},
        {"name": "chat", "kind": "chat"},
        {"name": "responses", "kind": "responses"},
    ],
    "questions": [
        {
            "name": "pick",
            "kind": "choice",
            "label": PAYLOAD,
            "help": PAYLOAD,
            "options": PAYLOADS[:8],
            "hotkeys": HOTKEYS,
        },
        {"name": "tags", "kind": "multi_choice", "label": PAYLOADS[1], "options": PAYLOADS[8:]},
        {"name": "marks", "kind": "spans", "input": "text", "labels": PAYLOADS[:4], "help": PAYLOAD},
        {"name": "overall", "kind": "preference", "scale": {"min": -2, "max": 2}, "label": PAYLOADS[3]},
        {
            "name": "grade",
            "kind": "rating",
            "scale": {"min": 1, "max": 3},
            "labels": {"1": PAYLOADS[0], "3": PAYLOADS[1]},
            "required": False,
        },
        {"name": "why", "kind": "text", "label": PAYLOADS[4], "help": PAYLOADS[5], "required": False},
    ],
}


def _item(n: int) -> dict[str, Any]:
    return {
        "data": {
            "prompt": PAYLOAD,
            "text": PAYLOAD,
            "chat": [{"role": "user", "content": PAYLOAD}, {"role": "assistant", "content": PAYLOAD}],
            "responses": [
                {"id": "a", "content": PAYLOAD, "model": PAYLOADS[0]},
                {"id": "b", "content": PAYLOADS[5] + " " + PAYLOADS[6], "model": PAYLOADS[3]},
            ],
        },
        "external_id": f"{PAYLOADS[3]}-{n}",
        "meta": {"note": PAYLOAD},
    }


INSPECT = """() => {
  const bad = [];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'background', 'srcset'];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(`${tag}[${name}]`);
      if (name === 'srcdoc') bad.push(`${tag}[srcdoc]`);
      if (urlAttrs.includes(name) && /^(javascript|data|vbscript):/.test(value)) bad.push(`${tag}[${name}=${value.slice(0, 40)}]`);
    }
    if (['iframe', 'frame', 'object', 'embed', 'base', 'style'].includes(tag)) bad.push(tag);
    if (tag === 'script' && !(el.getAttribute('src') || '').startsWith('/static/')) bad.push('inline script');
    if (tag === 'meta' && el.getAttribute('http-equiv')) bad.push('meta http-equiv');
    if (tag === 'link' && !(el.getAttribute('href') || '').startsWith('/static/')) bad.push('link ' + el.getAttribute('href'));
    if (tag === 'img' && !/^\\/(static\\/|$)/.test(el.getAttribute('src') || '')) bad.push('img ' + el.getAttribute('src'));
  }
  return {bad, flag: window.__xss === undefined ? null : String(window.__xss),
          csp: window.__csp || [], text: document.body.innerText};
}"""

CSP_LISTENER = """document.addEventListener('securitypolicyviolation', (e) => {
  (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI);
});"""


class Watch:
    """Blocks and records requests that leave the origin, dialogs, and CSP violations of one context."""

    def __init__(self, page: Any, live: Live) -> None:
        self.page = page
        self.origin = urlparse(live.url).netloc
        self.leaks: list[str] = []
        page.add_init_script(CSP_LISTENER)
        page.route("**/*", self._route)
        page.on("dialog", lambda d: (self.leaks.append("dialog: " + d.message), d.dismiss()))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if urlparse(url).netloc != self.origin:
            self.leaks.append(url)
            route.abort()
        else:
            route.continue_()

    def visit(self, path: str, *, ready: str | None = None, shows: tuple[str, ...] = (MARK,)) -> str:
        response = self.page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        headers = response.headers
        csp = headers["content-security-policy"]
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, csp
        assert "frame-ancestors 'none'" in csp and headers["x-content-type-options"] == "nosniff"
        if ready:
            self.page.wait_for_selector(ready)
        self.page.wait_for_load_state("networkidle")
        if ready:  # open the shortcut help, the one place hotkeys are listed
            self.page.keyboard.press("?")
            self.page.wait_for_timeout(100)
        found = self.page.evaluate(INSPECT)
        assert found["bad"] == [], (path, found["bad"])
        assert found["flag"] is None and found["csp"] == [], (path, found["flag"], found["csp"])
        assert self.leaks == [], (path, self.leaks)
        for text in shows:  # the payload reached the page, as text
            assert text in found["text"], (path, text)
        return str(found["text"])


def _plant(live: Live) -> tuple[int, int, str]:
    """The corpus project, answered by a hostile-named annotator and a demo one; (project, item, email)."""
    email = "xss-corpus@demo.assay.local"
    manager = _actor(live, live.logins["manager"].email)
    with live.hub() as hub:
        admin.create_user(
            hub,
            org="demo",
            email=email,
            name=f"{MARK} <img src=x onerror=\"window.__xss='name'\"> <script>alert(7)</script>",
            role="annotator",
            workforce="<svg onload=alert(8)> Vendor X",
            workforce_kind="vendor",
            password=PASSWORD,
        )
        project = project_flows.create(
            hub,
            manager,
            name=f"{MARK} <img src=x onerror=alert(9)> corpus",
            schema=SCHEMA,
            settings={"overlap": 3, "instructions": PAYLOAD},
        )
        source = io.BytesIO(b"".join(json.dumps(_item(n)).encode() + b"\n" for n in range(3)))
        ingest.import_items(hub, manager, project, source=source, fmt="jsonl", name="corpus.jsonl")
        item_id = 0
        answers = [
            {"pick": PAYLOADS[0], "tags": [PAYLOADS[8]], "overall": -1, "why": PAYLOAD},
            {"pick": PAYLOADS[1], "tags": [PAYLOADS[9]], "overall": 2, "why": PAYLOADS[1]},
        ]
        for who, answer in zip((email, annotators(live)[6].email), answers, strict=True):
            actor = _actor(live, who)
            lease = annotate.next_item(hub, actor, project.id)
            assert lease is not None
            spans = [{"start": 0, "end": len(MARK), "label": PAYLOADS[2]}]
            annotate.submit(hub, actor, lease.assignment_id, answers={**answer, "marks": spans})
            item_id = lease.item_id
    return project.id, item_id, email


def test_the_xss_corpus_renders_inert_on_every_page(page: Any, browser: Any, live: Live) -> None:
    project_id, item_id, hostile_email = _plant(live)
    watch = Watch(page, live)
    boss = live.logins["manager"]
    login(page, boss.email, boss.password)
    watch.visit("/projects")
    watch.visit(f"/projects/{project_id}", shows=(MARK, "<img src=x onerror="))
    watch.visit(f"/projects/{project_id}/dashboard")
    watch.visit(f"/projects/{project_id}/review", shows=(MARK, "<script>"))
    watch.visit("/review")
    item_text = watch.visit(f"/items/{item_id}", shows=(MARK, "<script>", "javascript:"))
    assert "[image: md image]" in item_text  # a remote image is named, never loaded
    watch.visit("/members", shows=(hostile_email, "<svg onload=alert(8)> Vendor X"))

    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    try:
        worker = context.new_page()
        worker.set_default_timeout(15_000)
        screen = Watch(worker, live)
        who = annotators(live)[5]
        login(worker, who.email, who.password)
        screen.visit("/projects")
        text = screen.visit(f"/projects/{project_id}/annotate", ready="#annotate[data-ready='true']")
        assert "<script>" in text and "onerror=" in text
        for key in ("1", "]", "Tab"):  # move through the questions: nothing hostile wakes up
            worker.keyboard.press(key)
        found = worker.evaluate(INSPECT)
        assert found["bad"] == [] and found["flag"] is None and found["csp"] == [], found["bad"]
        assert screen.leaks == []
    finally:
        context.close()

    hostile = browser.new_context(base_url=live.url)
    try:
        own = hostile.new_page()
        own.set_default_timeout(15_000)
        mine = Watch(own, live)
        login(own, hostile_email, PASSWORD)
        mine.visit("/projects")
    finally:
        hostile.close()
