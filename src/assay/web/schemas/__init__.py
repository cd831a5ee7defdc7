"""The JSON API's request and response models, one module per resource family.

Each family follows the ``XCreate`` / ``XUpdate`` / ``XPublic`` pattern.  These models are the
API's contract: the OpenAPI document at ``/api/v1/openapi.json`` is generated from them, and every
JSON response is validated against its route's model before it is sent, so the document cannot
drift from what the server answers.  Response models are closed (``extra="forbid"``): a field a
workflow adds without declaring it here fails the tests instead of reaching clients undocumented.
"""
