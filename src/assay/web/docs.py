"""The API's interactive documentation, served by the server itself: Swagger UI over the spec.

Swagger UI 5 (the first to read OpenAPI 3.1, which FastAPI writes) comes from the ``fastapi-offline``
package, which ships its distribution files: installed with the server, so the docs work offline and
load nothing from outside.  Only those files are used, served under ``/static/swagger-ui``.  The page
has no inline script or style, so it holds under the Content-Security-Policy every page gets
(``script-src 'self'``): its start-up code is ``/static/api-docs.js``.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/api/docs"
ASSETS_URL = "/static/swagger-ui"
ASSETS = files("fastapi_offline") / "static"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>assay API</title>
  <link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{ASSETS_URL}/favicon.png">
</head>
<body>
  <noscript><p>The interactive documentation needs JavaScript; the OpenAPI document itself is at
  <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></noscript>
  <div id="swagger-ui" data-spec="/api/v1/openapi.json"></div>
  <script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve the docs page and Swagger UI's files (mount before ``/static``, which would shadow it)."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS)), name="swagger-ui")

    @app.get(DOCS_URL, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(PAGE)
