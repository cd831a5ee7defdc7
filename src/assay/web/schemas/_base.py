"""Building blocks of the API models: closed public models, timestamps, domain-checked fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic.fields import FieldInfo


class Public(BaseModel):
    """A response body: closed, so that an undeclared field is a failure, never a silent extra."""

    model_config = ConfigDict(extra="forbid")


class Body(BaseModel):
    """A request body: closed, so that a misspelt key is refused rather than ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""An ISO 8601 time with its UTC offset, as the server writes it (``2026-01-31T09:15:00.123456+00:00``)."""

Ok = Annotated[bool, Field(description="Always true on success.")]


def checked_by(check: Callable[[Any], Any], *, described_as: Any) -> Any:
    """A field documented as ``described_as`` whose value is checked by the domain's own ``check``.

    The project schema and settings have one parser each (``assay.domain.schema``), whose errors
    name the path inside the document (``questions[2].scale.max``) and suggest the field a typo
    meant; the API uses that parser rather than a second validation with other words.  ``check``
    raises ``assay.errors.Invalid``, which is answered as the canonical 422.
    """
    return PlainValidator(check, json_schema_input_type=described_as)


def passed_through(value: Any) -> Any:
    """Keep the value as sent: the workflow that receives it checks it (e.g. merged settings)."""
    return value


def optional_fields(model: type[BaseModel], *, name: str, doc: str, only: tuple[str, ...] = ()) -> Any:
    """A model with ``model``'s fields (``only`` those, if given), for documentation.

    The fields keep their types, bounds and descriptions.  ``only`` empty: every field becomes
    optional and loses its default, as a partial update (PATCH) takes them: what is not sent is
    not changed.
    """
    from pydantic import create_model

    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        if only and key not in only:
            continue
        if only:
            fields[key] = (info.annotation, info)
        else:
            partial = FieldInfo.merge_field_infos(info, default=None)
            partial.default_factory = None
            fields[key] = (info.annotation, partial)

    def drop_defaults(schema: dict[str, Any]) -> None:
        for prop in schema.get("properties", {}).values():
            prop.pop("default", None)

    config = ConfigDict(extra="forbid", strict=True)
    if not only:
        config["json_schema_extra"] = drop_defaults
    made = create_model(name, __config__=config, __doc__=doc, **fields)
    return made
