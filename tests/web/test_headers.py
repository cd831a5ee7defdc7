"""Downloads named after untrusted text: RFC 6266 Content-Disposition, never a 500."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.storage import projects as store
from assay.web.headers import attachment
from tests.factories import TEXT_SCHEMA, make_member, make_org


@pytest.mark.parametrize(
    ("name", "fallback", "utf8"),
    [
        ("plain.csv", "plain.csv", "plain.csv"),
        ("Prüfung ☃.jsonl", "Pr_fung _.jsonl", "Prüfung ☃.jsonl"),
        ("a\r\nSet-Cookie: x=1.csv", "aSet-Cookie: x=1.csv", "aSet-Cookie: x=1.csv"),
        ('q"b\\s/;.csv', "q_b_s__.csv", 'q"b\\s/;.csv'),
        ("\ud800.csv", ".csv", ".csv"),
        ("\r\n", "download", "download"),
    ],
)
def test_attachment_gives_an_ascii_fallback_and_the_utf8_name(name: str, fallback: str, utf8: str) -> None:
    header = attachment(name)
    header.encode("latin-1")  # what the server must be able to send
    assert "\r" not in header and "\n" not in header
    assert header.startswith(f'attachment; filename="{fallback}"; ')
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == utf8


@pytest.mark.parametrize("name", ["Prüfung ☃ 日本語", "line\r\nbreak"])
def test_an_export_of_any_project_name_is_a_download(hub: Assay, api: TestClient, name: str) -> None:
    manager = make_member(hub, make_org(hub), role="manager")
    created = api.post("/api/v1/projects", json={"name": "p", "schema": TEXT_SCHEMA}, headers=manager.headers)
    project_id = created.json()["id"]
    # Names are checked on the way in now; a project named before that (or restored) is planted here.
    with hub.db.write() as conn:
        store.update_project(
            conn, org_id=manager.actor(hub).org_id, project_id=project_id, values={"name": name}
        )
    for fmt in ("jsonl", "csv"):
        response = api.get(f"/api/v1/projects/{project_id}/export?format={fmt}", headers=manager.headers)
        assert response.status_code == 200, response.text
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="')
        expected = "".join(c for c in name if c not in "\r\n")
        assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == f"{expected}.{fmt}"
    vendors = api.get(f"/api/v1/projects/{project_id}/vendors?format=csv", headers=manager.headers)
    assert vendors.status_code == 200
    assert vendors.headers["content-disposition"] == (
        f"attachment; filename=\"vendors-{project_id}.csv\"; filename*=UTF-8''vendors-{project_id}.csv"
    )
