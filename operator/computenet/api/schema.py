"""Turn a pydantic JSON schema into a Kubernetes structural OpenAPI v3 schema.

The API server accepts a narrower dialect than pydantic writes: every ``$ref`` must be inlined, an
``Optional`` is not a union with null but simply a field that may be absent, ``additionalProperties:
false`` is forbidden (the server prunes unknown fields instead), key patterns and ``uniqueItems`` do
not exist, and ``anyOf`` may only spell int-or-string. :func:`structural` performs that translation
and refuses anything it cannot translate faithfully, so a model change that would produce a
non-structural CRD fails at generation time rather than at ``kubectl apply``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from computenet.api.fields import cel_string

__all__ = ["SchemaError", "structural", "structural_problems"]

JsonObject = dict[str, Any]

_DROPPED = frozenset({"title", "propertyNames", "$defs"})
_KEY_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "not",
)


class SchemaError(ValueError):
    """A model produces a schema construct that has no structural equivalent."""


def structural(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> JsonObject:
    """Translate one pydantic JSON schema node (and everything below it) into structural form.

    ``defs`` are the ``$defs`` its references point into; by default the node's own.
    """
    definitions = dict(defs if defs is not None else schema.get("$defs", {}))
    return _convert(schema, definitions, path="")


def _convert(node: Mapping[str, Any], defs: Mapping[str, Any], path: str) -> JsonObject:
    node = _flatten(node, defs, path)
    result: JsonObject = {}
    rules: list[dict[str, str]] = []
    for key, value in node.items():
        if key in _DROPPED or (key == "default" and value is None):
            continue
        if key == "properties":
            result[key] = {name: _convert(sub, defs, f"{path}.{name}") for name, sub in value.items()}
        elif key == "items":
            result[key] = _convert(value, defs, f"{path}[]")
        elif key == "additionalProperties":
            if value is True:
                result["x-kubernetes-preserve-unknown-fields"] = True
            elif value is not False:
                result[key] = _convert(value, defs, f"{path}{{}}")
        elif key == "patternProperties":
            if len(value) != 1:
                raise SchemaError(f"{path or '.'}: a map must have exactly one value schema")
            ((pattern, value_schema),) = value.items()
            result["additionalProperties"] = _convert(value_schema, defs, f"{path}{{}}")
            rules.append(_key_rule(pattern, node.get("propertyNames", {}), path))
        elif key == "exclusiveMinimum" and not isinstance(value, bool):
            result["minimum"], result["exclusiveMinimum"] = value, True
        elif key == "exclusiveMaximum" and not isinstance(value, bool):
            result["maximum"], result["exclusiveMaximum"] = value, True
        elif key == "uniqueItems":
            raise SchemaError(f"{path or '.'}: use SetOf[...] (x-kubernetes-list-type: set), not a set type")
        elif key == "const":
            result["enum"] = [value]
        else:
            result[key] = value
    if "properties" in result and "additionalProperties" in result:
        raise SchemaError(f"{path or '.'}: an object cannot have both properties and additionalProperties")
    if rules:
        result["x-kubernetes-validations"] = [*result.get("x-kubernetes-validations", []), *rules]
    return _ordered(result)


def _key_rule(pattern: str, names: Mapping[str, Any], path: str) -> dict[str, str]:
    """Structural schemas cannot constrain map keys, so a typed key becomes a CEL rule on the map."""
    if "description" not in names:
        raise SchemaError(f"{path or '.'}: a map key type needs a description, for the error message")
    checks = [f"k.matches({cel_string(pattern)})"]
    if "maxLength" in names:
        checks.insert(0, f"size(k) <= {names['maxLength']}")
    return {
        "rule": f"self.all(k, {' && '.join(checks)})",
        "message": f"every key must be {names['description']}",
    }


def _flatten(node: Mapping[str, Any], defs: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """Inline references and strip Optional, so that what remains describes one plain type.

    Keywords next to a reference (a field's own description or default) win over the referenced
    definition's (a model's docstring), because they are about this use of the type.
    """
    while True:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in defs:
                raise SchemaError(f"{path or '.'}: unresolved reference {node['$ref']}")
            node = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
        elif "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
            branches = [branch for branch in node["anyOf"] if branch != {"type": "null"}]
            if len(branches) != 1:
                raise SchemaError(f"{path or '.'}: unions are not structural; only Optional[X] is supported")
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            node = {**branches[0], **rest}
        else:
            return node


def _ordered(schema: JsonObject) -> JsonObject:
    known = [key for key in _KEY_ORDER if key in schema]
    other = sorted(key for key in schema if key not in _KEY_ORDER)
    return {key: schema[key] for key in (*known, *other)}


def structural_problems(schema: Mapping[str, Any], path: str = "") -> list[str]:
    """What would make the API server call ``schema`` non-structural (empty when it is fine).

    An independent check of :func:`structural`'s output, used by the tests and the generator.
    """
    return list(_problems(schema, path))


def _problems(schema: Mapping[str, Any], path: str) -> Iterator[str]:
    where = path or "."
    for forbidden in ("$ref", "allOf", "oneOf", "nullable", "uniqueItems", "propertyNames"):
        if forbidden in schema:
            yield f"{where}: {forbidden} is not allowed"
    if "not" in schema and not _value_validation(schema["not"]):
        yield f"{where}: not may hold only value validations ({', '.join(sorted(_VALUE_VALIDATIONS))})"
    if schema.get("additionalProperties") is False or schema.get("additionalProperties") is True:
        yield f"{where}: additionalProperties must be a schema"
    int_or_string = schema.get("x-kubernetes-int-or-string") is True
    if "anyOf" in schema and not (int_or_string and schema["anyOf"] == [{"type": "integer"}, {"type": "string"}]):
        yield f"{where}: anyOf is only allowed as int-or-string"
    if "type" not in schema and not int_or_string and not schema.get("x-kubernetes-preserve-unknown-fields"):
        yield f"{where}: has no type"
    if "description" not in schema and path and path != ".metadata":  # kubectl documents metadata itself
        yield f"{where}: has no description"
    for name, sub in schema.get("properties", {}).items():
        yield from _problems(sub, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from _problems_without_description(schema["additionalProperties"], f"{path}{{}}")
    if "items" in schema:
        yield from _problems_without_description(schema["items"], f"{path}[]")


_VALUE_VALIDATIONS = frozenset(
    {
        "enum",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "multipleOf",
        "format",
    }
)
"""What a structural schema's `not` may hold: value validations, never a type, a description, a
default or an x-kubernetes extension (k8s.io/apiextensions-apiserver@v0.36.3
pkg/apiserver/schema/validation.go, `validateNestedValueValidation`)."""


def _value_validation(schema: object) -> bool:
    return isinstance(schema, Mapping) and bool(schema) and set(schema) <= _VALUE_VALIDATIONS


def _problems_without_description(schema: Mapping[str, Any], path: str) -> Iterator[str]:
    # Map values and list items are described by their container, unless they are objects.
    for problem in _problems(schema, path):
        if not (problem == f"{path}: has no description" and schema.get("type") != "object"):
            yield problem
