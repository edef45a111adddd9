"""The OpenAPI document describes every JSON answer: each field has a type, and the status
lists are the service's own."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from warehouse.models import OrderStatus, PickListStatus, PickStatus, PrintJobStatus

# Not collected again by tests/pg: the document does not depend on the database.
POSTGRESQL = False


def untyped(spec: dict[str, Any], schema: dict[str, Any], path: str, seen: set[str]) -> list[str]:
    """Every place under `schema` whose value has no type, following $refs once each."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return untyped(spec, spec["components"]["schemas"][name], name, seen | {name})
    found = []
    if not any(key in schema for key in ("type", "allOf", "oneOf", "anyOf")):
        found.append(path or "(the body)")
    for key in ("allOf", "oneOf", "anyOf"):
        for number, part in enumerate(schema.get(key, [])):
            found += untyped(spec, part, f"{path}.{key}[{number}]", seen)
    for name, field in schema.get("properties", {}).items():
        found += untyped(spec, field, f"{path}.{name}", seen)
    if "items" in schema:
        found += untyped(spec, schema["items"], f"{path}[]", seen)
    return found


def json_answers(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, schema) of every JSON answer of every operation, errors included."""
    answers = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue  # the parameters every operation of the path shares
            for status, answer in operation.get("responses", {}).items():
                if "$ref" in answer:
                    answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
                content = answer.get("content", {}).get("application/json")
                if content and "schema" in content:
                    answers.append((f"{method.upper()} {path} {status}", content["schema"]))
    return answers


def test_every_field_of_every_json_answer_has_a_type(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    answers = json_answers(spec)
    assert len(answers) > 40
    missing = [
        f"{where}: {field}"
        for where, schema in answers
        for field in untyped(spec, schema, "", set())
    ]
    assert missing == []


def test_status_lists_are_the_services_own(client: FlaskClient) -> None:
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    assert schemas["OrderOut"]["properties"]["status"]["enum"] == list(OrderStatus)
    assert schemas["PickListOut"]["properties"]["status"]["enum"] == list(PickListStatus)
    assert schemas["PickOut"]["properties"]["status"]["enum"] == list(PickStatus)
    assert schemas["PrintJobOut"]["properties"]["status"]["enum"] == list(PrintJobStatus)
    assert schemas["PickOut"]["properties"]["expiry"] == {
        "type": "string", "format": "date", "nullable": True,
    }  # fmt: skip
