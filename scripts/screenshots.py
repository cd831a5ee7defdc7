"""Take the README's screenshots from a freshly seeded demo with some simulated work.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]   # default docs/screenshots

Seeds `assay demo` into a temporary data directory (which answers part of the classification
project itself), lets the demo annotators answer part of each other project through the API (seeded
answers, a few disagreements), starts `assay serve` and drives Debian's Chromium with Playwright.
Needs /usr/bin/chromium.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from assay.app import Assay
from assay.demo import content
from assay.demo import simulate as demo_work
from assay.demo.seed import seed
from assay.settings import Config
from assay.workflows import admin

PASSWORD = "demo-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def simulate(url: str, tokens: dict[str, str], rng: random.Random) -> None:
    """Every annotator answers a share of every project the demo left unanswered, mostly agreeing."""
    with httpx.Client(base_url=url, timeout=30) as http:
        projects = http.get(
            "/api/v1/projects", headers={"Authorization": f"Bearer {tokens['manager']}"}
        ).json()
        for project in projects["projects"]:
            if project["name"] == demo_work.PROJECT:
                continue  # the demo's own simulated work is there, answered against known labels
            for email, token in tokens.items():
                if email == "manager":
                    continue
                h = {"Authorization": f"Bearer {token}"}
                for _ in range(rng.randint(8, 16)):
                    lease = http.get(f"/api/v1/projects/{project['id']}/next", headers=h)
                    if lease.status_code != 200:
                        break
                    body = lease.json()
                    answers = {}
                    # A hidden "true" answer per item; each annotator agrees with it 85% of the time.
                    truth = random.Random(body["item"]["id"])
                    agree = rng.random() < 0.85
                    for q in body["questions"]:
                        kind = q["kind"]
                        if kind == "choice":
                            right = truth.randrange(len(q["options"]))
                            pick = right if agree else rng.randrange(len(q["options"]))
                            answers[q["name"]] = q["options"][pick]
                        elif kind in ("rating", "preference"):
                            lo, hi = q["scale"]["min"], q["scale"]["max"]
                            right = truth.randint(lo, hi)
                            answers[q["name"]] = right if agree else rng.randint(lo, hi)
                        elif kind == "ranking":
                            ids = [str(r["id"]) for r in body["item"]["data"][q["input"]]]
                            (truth if agree else rng).shuffle(ids)
                            answers[q["name"]] = [[i] for i in ids]
                    http.post(
                        f"/api/v1/assignments/{body['assignment_id']}/submit",
                        json={"answers": answers, "duration_ms": rng.randint(4000, 40000)},
                        headers=h,
                    )


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="assay-shots-"))
    secret = os.urandom(32).hex()
    hub = Assay(Config(data_dir=data, secret_key=secret))
    hub.migrate()
    seed(hub)
    tokens = {}
    for person in content.DEMO_PEOPLE:
        admin.create_user(
            hub,
            org=content.DEMO_ORG_SLUG,
            email=person.email,
            role=person.role,
            workforce=person.workforce,
            workforce_kind=person.workforce_kind or "in_house",
            password=PASSWORD,
        )
        if person.role == "annotator":
            tokens[person.email] = admin.create_token(hub, org=content.DEMO_ORG_SLUG, email=person.email)
    tokens["manager"] = admin.create_token(hub, org=content.DEMO_ORG_SLUG, email="manager@demo.assay.local")
    hub.close()
    port = free_port()
    env = {**os.environ, "ASSAY_SECRET_KEY": secret}
    server = subprocess.Popen(
        [sys.executable, "-m", "assay.cli.main", "serve", "--data-dir", str(data), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        simulate(url, tokens, random.Random(1))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )

            def shoot(email: str, path: str, name: str, full: bool = False, part: str | None = None) -> None:
                page = browser.new_page(base_url=url, viewport={"width": 1280, "height": 860})
                page.goto("/login")
                page.fill("input[name=email]", email)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(lambda u: "/login" not in u)
                page.goto(path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(600)
                if part is not None:  # one section of the page, however far down it is
                    page.locator(part).screenshot(path=str(out / name))
                else:
                    page.screenshot(path=str(out / name), full_page=full)
                page.close()

            shoot("vendor-a-1@demo.assay.local", "/projects", "my-work.png")
            shoot("vendor-a-1@demo.assay.local", "/projects/2/annotate", "annotate-preference.png")
            shoot("vendor-a-2@demo.assay.local", "/projects/1/annotate", "annotate-classify.png")
            shoot("vendor-b-1@demo.assay.local", "/projects/3/annotate", "annotate-rubric.png")
            shoot("vendor-b-2@demo.assay.local", "/projects/4/annotate", "annotate-ranking.png")
            shoot("manager@demo.assay.local", "/projects/2/dashboard", "dashboard.png")
            shoot(
                "manager@demo.assay.local",
                "/projects/1/dashboard",
                "vendors.png",
                part="section[aria-labelledby=h-vendors]",
            )
            shoot("manager@demo.assay.local", "/projects/2", "project.png")
            shoot("reviewer@demo.assay.local", "/projects/1/review", "review.png")
            shoot(
                "reviewer@demo.assay.local",
                "/projects/2/review",
                "review-preference.png",
                part="section.card:nth-of-type(1)",
            )
            shoot("manager@demo.assay.local", "/projects/new", "new-project.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
