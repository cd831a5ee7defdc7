from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assay.app import Assay
from assay.web.app import create_app


@pytest.fixture
def api(hub: Assay) -> Iterator[TestClient]:
    with TestClient(create_app(hub), raise_server_exceptions=False) as client:
        yield client
