"""Field types that carry both their Python validation and their CRD schema.

Each type here is declared once and validates the same way in two places: pydantic checks it when the
operator reads an object, and the generated CRD makes the API server check it when a user applies one.
Rules the OpenAPI schema cannot state are written as CEL (:class:`Rule`), with a message a user
understands; the Python side of those rules lives next to them where it matters to the operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, PlainSerializer
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from computenet.api.uri import SEGMENT_PATTERN
from computenet.quantity import (
    MAX_LENGTH,
    NON_NEGATIVE_QUANTITY_PATTERN,
    POSITIVE_QUANTITY_PATTERN,
    QUANTITY_PATTERN,
    QuantityError,
    QuantityOutOfRange,
    canonical_quantity,
    parse_quantity,
    to_int_units,
)

__all__ = [
    "AcceleratorModel",
    "AcceleratorPartition",
    "CurrencyCode",
    "DnsLabel",
    "LabelKey",
    "LabelValue",
    "Price",
    "Quantity",
    "QuantitySpec",
    "RegionName",
    "Rule",
    "SetOf",
    "SubdomainName",
    "Timestamp",
    "cel_string",
    "validations",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """One CEL rule for ``x-kubernetes-validations``, with the message the user sees when it fails.

    ``field_path`` (relative, e.g. ``.forbidden``) makes the API server report the error on that
    field instead of on the object carrying the rule. ``check`` is the same rule in Python, for the
    models that carry it (:class:`~computenet.api.common.ApiModel`); rules that need ``oldSelf`` or
    the server's quantity parser have none.
    """

    rule: str
    message: str
    field_path: str | None = None
    check: Callable[[Any], bool] | None = field(default=None, compare=False, repr=False)
    message_expression: str | None = None
    """CEL for a message that quotes the refused value; ``message`` stays the fallback (and Python's)."""

    def as_schema(self) -> dict[str, str]:
        schema = {"rule": self.rule, "message": self.message}
        if self.message_expression is not None:
            schema["messageExpression"] = self.message_expression
        if self.field_path is not None:
            schema["fieldPath"] = self.field_path
        return schema


def cel_string(text: str) -> str:
    """``text`` as a CEL string literal: regular expressions carry backslashes that CEL would eat."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def validations(*rules: Rule) -> dict[str, Any]:
    """Schema extension for ``json_schema_extra``: attach CEL rules to a model or a field."""
    return {"x-kubernetes-validations": [rule.as_schema() for rule in rules]}


def _unique(items: list[T]) -> list[T]:
    seen: list[T] = []
    for item in items:
        if item in seen:
            raise PydanticCustomError("duplicate", "duplicate value {value}", {"value": item})
        seen.append(item)
    return items


SetOf = Annotated[list[T], AfterValidator(_unique), Field(json_schema_extra={"x-kubernetes-list-type": "set"})]
"""A list whose items must be distinct; the API server refuses duplicates with 'Duplicate value'."""

DnsLabel = Annotated[str, Field(min_length=1, max_length=63, pattern=SEGMENT_PATTERN)]
"""An RFC 1123 label: lowercase letters, digits and '-', as in namespace names and URI segments."""

SubdomainName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    ),
]
"""An RFC 1123 subdomain, the syntax of most Kubernetes object names (Secrets, pools)."""

LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
LABEL_KEY_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LabelValue = Annotated[str, Field(max_length=63, pattern=LABEL_VALUE_PATTERN)]
"""A label value; accelerator models are label values too (``nvidia.com/gpu.product``)."""
AcceleratorModel = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        pattern=LABEL_VALUE_PATTERN,
        description="an accelerator model: letters, digits, '-', '_' or '.', at most 63 characters",
    ),
]
"""An accelerator model as nodes label it, such as NVIDIA-H100-80GB-HBM3 (a non-empty label value)."""
AcceleratorPartition = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$",
        description="a MIG profile or vendor partition: letters, digits, '.', '_', '+' or '-', at most 63 characters",
    ),
]
"""A slice kind as device plugins name it: a MIG profile (1g.10gb), an AMD partition (cpx_nps4), an Ascend vNPU (4c)."""
LabelKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=317,
        pattern=LABEL_KEY_PATTERN,
        description="a label key: an optional DNS-subdomain prefix and '/', then a name of letters, digits, "
        "'-', '_' or '.' of at most 63 characters",
    ),
]
"""A label key, as in ``nvidia.com/gpu.product``."""

RegionName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        pattern=SEGMENT_PATTERN,
        description="a region name: lowercase letters, digits and '-', at most 63 characters",
    ),
]
"""A region, used as a map key (latency by region)."""

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", min_length=3, max_length=3)]
"""An ISO 4217 currency code such as USD, EUR or CNY."""

Price = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
"""A non-negative price per unit-hour, in the identifier's currency."""


_TIME = "%Y-%m-%dT%H:%M:%SZ"
_MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(value: datetime) -> str:
    """``value`` as Kubernetes writes a metav1.Time: RFC 3339 in UTC to the second (``2025-01-31T12:00:00Z``).

    A naive datetime is taken as UTC.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(_TIME)


def format_micro_time(value: datetime) -> str:
    """``value`` as a metav1.MicroTime (a Lease's renewTime, an agent's report): to the microsecond, UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(_MICRO_TIME)


def parse_time(raw: object) -> datetime:
    """A metav1.Time as the API server writes it (``...T12:00:00Z``), as an aware UTC datetime.

    Raises ValueError for anything else.
    """
    return datetime.strptime(str(raw), _TIME).replace(tzinfo=UTC)


Timestamp = Annotated[datetime, PlainSerializer(format_time, return_type=str)]
"""A point in time; always serialised as RFC 3339 UTC (``2025-01-31T12:00:00Z``), as Kubernetes writes it."""


_QUANTITY_EXAMPLES = "500m, 2, 1.5Gi or 1e3"

# Bounds no object and no list can meet (and that mean nothing to strings and numbers): an untyped
# field refuses both at apply time, naming the field. A boolean is refused by `not`, which a
# structural schema allows when it holds value validations only (the API server says
# '"spec.cpu" must not validate the schema (not)').
_NEITHER_OBJECT_NOR_LIST = {"minProperties": 1, "maxProperties": 0, "minItems": 1, "maxItems": 0}
_NOT_A_BOOLEAN = {"not": {"enum": [True, False]}}


@dataclass(frozen=True)
class QuantitySpec:
    """Marks a ``str`` field as a Kubernetes quantity with bounds (``Annotated[str, QuantitySpec(...)]``).

    ``maximum`` catches absurd sizes (a typo of "64Ti" for "64Gi"); None leaves only the lower bound.
    Python always sees a string. The API server's structural schemas have no "number or string" type,
    so a field chooses one of two schemas:

    * ``numbers=False`` (default): ``x-kubernetes-int-or-string``. YAML ``cpu: 2`` and ``cpu: "2"``
      are accepted, ``cpu: 0.5`` is refused ("must be of type integer,string"). The syntax and the
      bounds are CEL rules with the API server's own quantity functions (``isQuantity``,
      ``quantity()``), so every mistake is refused at apply time with a message of its own, and the
      server and :mod:`computenet.quantity` agree on what a quantity is (an integration test holds
      them to it). Python refuses floats too.
    * ``numbers=True``: every YAML number too, as Kubernetes accepts them in a pod (``cpu: 0.5`` is
      500m). CEL cannot type such a field, so the schema leaves the type open
      (``x-kubernetes-preserve-unknown-fields``) and states what plain keywords can: a string's
      syntax without a minus sign (:data:`~computenet.quantity.POSITIVE_QUANTITY_PATTERN`, or the
      non-negative one with ``allow_zero``), a number's bounds (``minimum``, ``maximum``), and no
      object, list or boolean (``cpu: true``). A string above ``maximum`` passes the API server and
      is refused by the operator (``Valid=False`` naming the field). A number becomes its canonical
      string in Python (``0.5`` -> ``"500m"``).
    """

    maximum: str | None
    allow_zero: bool = False
    numbers: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self._validate, json_schema_input_schema=core_schema.str_schema()
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        if self.numbers:
            bounds: dict[str, Any] = {"minimum": 0}
            if not self.allow_zero:
                bounds["exclusiveMinimum"] = True
            if self.maximum is not None:
                bounds["maximum"] = to_int_units(self.maximum)
            return {
                "x-kubernetes-preserve-unknown-fields": True,
                "maxLength": MAX_LENGTH,
                "pattern": NON_NEGATIVE_QUANTITY_PATTERN if self.allow_zero else POSITIVE_QUANTITY_PATTERN,
                **bounds,
                **_NEITHER_OBJECT_NOR_LIST,
                **_NOT_A_BOOLEAN,
            }
        return {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "maxLength": MAX_LENGTH,
            "x-kubernetes-validations": [rule.as_schema() for rule in self.rules],
        }

    @property
    def bounds_message(self) -> str:
        lower = "at least 0" if self.allow_zero else "greater than 0"
        return f"must be {lower}" + ("" if self.maximum is None else f" and at most {self.maximum}")

    @property
    def rules(self) -> tuple[Rule, Rule]:
        """The CEL rules of the int-or-string schema: the syntax, then the bounds."""
        low = ">=" if self.allow_zero else ">"
        low_q = (
            "!quantity(self).isLessThan(quantity('0'))"
            if self.allow_zero
            else ("quantity(self).isGreaterThan(quantity('0'))")
        )
        high_int = "" if self.maximum is None else f" && self <= {to_int_units(self.maximum)}"
        high_q = (
            "" if self.maximum is None else f" && !quantity(self).isGreaterThan(quantity({cel_string(self.maximum)}))"
        )
        return (
            Rule(
                f"type(self) == int || (self.matches({cel_string(QUANTITY_PATTERN)}) && isQuantity(self))",
                f"must be a Kubernetes quantity such as {_QUANTITY_EXAMPLES}",
            ),
            Rule(
                f"type(self) == int ? (self {low} 0{high_int}) : (!isQuantity(self) || ({low_q}{high_q}))",
                self.bounds_message,
            ),
        )

    def _validate(self, value: object) -> str:
        accepted = (str, int, float) if self.numbers else (str, int)
        if isinstance(value, bool) or not isinstance(value, accepted):
            kinds = "a string or a number" if self.numbers else "a string or an integer"
            raise PydanticCustomError("quantity_type", f"a quantity is {kinds}, not {type(value).__name__}")
        try:
            amount = parse_quantity(value)
        except QuantityOutOfRange:
            raise PydanticCustomError("quantity_range", self.bounds_message) from None
        except QuantityError:
            raise PydanticCustomError(
                "quantity", f"must be a Kubernetes quantity such as {_QUANTITY_EXAMPLES}"
            ) from None
        low_ok = amount >= 0 if self.allow_zero else amount > 0
        if not low_ok or (self.maximum is not None and amount > parse_quantity(self.maximum)):
            raise PydanticCustomError("quantity_range", self.bounds_message)
        if isinstance(value, str):
            return value
        return canonical_quantity(value) if self.numbers else str(value)


Quantity = Annotated[str, QuantitySpec(maximum="1Ei", allow_zero=True)]
"""A non-negative quantity of anything, bounded only against absurdity (status maps use it)."""
