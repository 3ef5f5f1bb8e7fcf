"""Building blocks shared by the three kinds: the model base classes, conditions, selectors, references.

The base classes fix the conventions once: camelCase in YAML and snake_case in Python, enums stored as
plain strings (so ``model_dump`` output goes straight into a patch), and cross-field rules declared as
:class:`~computenet.api.fields.Rule` objects that become both CEL in the CRD and checks in Python.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from computenet.api.constants import DEFAULT_KUBECONFIG_KEY, ConditionStatus, SelectorOperator
from computenet.api.fields import (
    DnsLabel,
    LabelKey,
    LabelValue,
    Quantity,
    Rule,
    SetOf,
    SubdomainName,
    Timestamp,
)

__all__ = [
    "AcceleratorAmounts",
    "ApiModel",
    "Condition",
    "LabelSelector",
    "ObjectMeta",
    "ResourceAmounts",
    "SecretKeyRef",
    "SelectorRequirement",
    "SpecModel",
    "StatusModel",
]


class ApiModel(BaseModel):
    """Base of every API model: camelCase aliases, plain-string enums, rules shared with the CRD.

    ``rules`` lists the model's cross-field rules. Each becomes an ``x-kubernetes-validations`` entry
    on the model's schema; those with a Python ``check`` are also enforced by pydantic, reported with
    the same message, so the operator and the API server refuse the same objects.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_enum_values=True,
        extra="ignore",
    )

    rules: ClassVar[tuple[Rule, ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if cls.rules:
            target = handler.resolve_ref_schema(json_schema)
            target["x-kubernetes-validations"] = [rule.as_schema() for rule in cls.rules]
        return json_schema

    @model_validator(mode="after")
    def _check_rules(self) -> Any:
        for rule in type(self).rules:
            if rule.check is not None and not rule.check(self):
                raise PydanticCustomError("rule", rule.message, {"field_path": rule.field_path or ""})
        return self


class SpecModel(ApiModel):
    """Base of what users write: unknown fields are errors, because a typo must not pass silently."""

    model_config = ConfigDict(extra="forbid")


class StatusModel(ApiModel):
    """Base of what the operator writes: unknown fields are ignored, so version skew never breaks a read."""

    model_config = ConfigDict(extra="ignore")


class ObjectMeta(ApiModel):
    """The parts of metav1.ObjectMeta the operator reads; not part of the generated schemas."""

    name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list)
    creation_timestamp: Timestamp | None = None
    deletion_timestamp: Timestamp | None = None


class Condition(StatusModel):
    """One observation about the object, as metav1.Condition: the latest per type wins."""

    type: str = Field(
        max_length=316,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
        r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        description="Type of the condition, such as Ready or Placed.",
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    observed_generation: int | None = Field(
        None, ge=0, description="The .metadata.generation the condition was computed from."
    )
    last_transition_time: Timestamp | None = Field(
        None, description="When the status last changed from one value to another."
    )
    reason: str | None = Field(
        None,
        max_length=1024,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        description="A CamelCase, machine-readable reason for the last transition.",
    )
    message: str | None = Field(
        None, max_length=32768, description="A human-readable explanation; says what to change when False."
    )


# Kubernetes v1.36.3, k8s.io/apimachinery@v0.36.3/pkg/util/validation/validation.go: IsQualifiedName limits
# the prefix of a label key to a DNS subdomain of at most 253 characters. The key's pattern states the
# shape; the prefix's length needs a rule of its own (the whole key may be 253 + 1 + 63 characters).
_KEY_PREFIX_MESSAGE = "the prefix of a label key (before '/') must be no more than 253 characters"


def _prefix_fits(key: str) -> bool:
    return key.find("/") <= 253


# metav1.LabelSelectorRequirement as ValidateLabelSelectorRequirement checks it (Kubernetes v1.36.3,
# k8s.io/apimachinery@v0.36.3/pkg/apis/meta/v1/validation/validation.go): a qualified key, label values,
# values required for In and NotIn and forbidden for Exists and DoesNotExist, no other operator.
class SelectorRequirement(SpecModel):
    """One requirement of a label selector: a key, an operator and (for In / NotIn) values."""

    rules = (
        Rule(
            "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
            "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",
            field_path=".values",
            check=lambda r: (r.operator in ("In", "NotIn")) == bool(r.values),
        ),
        Rule(
            "self.key.indexOf('/') <= 253", _KEY_PREFIX_MESSAGE, field_path=".key", check=lambda r: _prefix_fits(r.key)
        ),
    )

    key: LabelKey = Field(description="The label key the requirement applies to.")
    operator: SelectorOperator = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: SetOf[LabelValue] | None = Field(
        None, max_length=64, description="Label values; required for In and NotIn, forbidden otherwise."
    )


class LabelSelector(SpecModel):
    """A label selector as metav1.LabelSelector; all requirements must hold. Must not be empty."""

    rules = (
        Rule(
            "(has(self.matchLabels) && size(self.matchLabels) > 0)"
            " || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",
            "must not be empty: set matchLabels or matchExpressions (an empty selector matches everything)",
            check=lambda s: bool(s.match_labels) or bool(s.match_expressions),
        ),
        Rule(
            "!has(self.matchLabels) || self.matchLabels.all(k, k.indexOf('/') <= 253)",
            _KEY_PREFIX_MESSAGE,
            field_path=".matchLabels",
            check=lambda s: all(_prefix_fits(key) for key in s.match_labels or {}),
        ),
    )

    match_labels: dict[LabelKey, LabelValue] | None = Field(
        None, max_length=64, description="Labels that must all be present with exactly these values."
    )
    match_expressions: list[SelectorRequirement] | None = Field(
        None, max_length=32, description="Requirements that must all hold."
    )


# The key follows IsConfigMapKey, the rule for the keys of a Secret's data (Kubernetes v1.36.3,
# k8s.io/apimachinery@v0.36.3/pkg/util/validation/validation.go): at most 253 of [-._a-zA-Z0-9], not '.'
# or '..' and not starting with '..'. A key breaking it can never exist in a Secret.
class SecretKeyRef(SpecModel):
    """A key in a Secret. The operator reads it; its contents never appear in status, events or logs."""

    rules = (
        Rule(
            "!has(self.key) || (self.key != '.' && !self.key.startsWith('..'))",
            "key must not be '.' or '..', nor start with '..': no Secret can hold such a key",
            field_path=".key",
            check=lambda r: r.key != "." and not r.key.startswith(".."),
        ),
    )

    name: SubdomainName = Field(description="Name of the Secret.")
    namespace: DnsLabel = Field(description="Namespace of the Secret (usually the operator's namespace).")
    key: str = Field(
        DEFAULT_KUBECONFIG_KEY,
        min_length=1,
        max_length=253,
        pattern=r"^[-._a-zA-Z0-9]+$",
        description="Key within the Secret that holds the kubeconfig.",
    )


_QUANTITIES = "Quantities by resource name (cpu, memory, ephemeral-storage, nvidia.com/gpu, ...)."


class ResourceAmounts(StatusModel):
    """Amounts per resource name, in four views of the same nodes."""

    capacity: dict[str, Quantity] | None = Field(None, max_length=64, description=f"What the nodes have. {_QUANTITIES}")
    allocatable: dict[str, Quantity] | None = Field(
        None,
        max_length=64,
        description=f"What the nodes offer to pods (capacity minus reservations). {_QUANTITIES}",
    )
    allocated: dict[str, Quantity] | None = Field(
        None, max_length=64, description=f"What running and assumed pods request. {_QUANTITIES}"
    )
    free: dict[str, Quantity] | None = Field(
        None, max_length=64, description=f"Allocatable minus allocated, never below 0. {_QUANTITIES}"
    )


class AcceleratorAmounts(StatusModel):
    """Device counts of one accelerator model, and the largest slot free on a single node."""

    vendor: str | None = Field(None, max_length=63, description="Vendor of the model, such as nvidia.")
    resource: str | None = Field(
        None, max_length=253, description="Extended resource name of the devices, such as nvidia.com/gpu."
    )
    driver: str | None = Field(
        None,
        max_length=253,
        description="The DRA driver publishing the devices in ResourceSlices, such as gpu.nvidia.com; unset for "
        "devices of an extended resource (then resource names them).",
    )
    memory: Quantity | None = Field(None, description="Memory of one device, such as 80Gi.")
    partition: str | None = Field(
        None,
        max_length=63,
        description="What one unit is when it is a slice, not a whole device: the MIG profile (1g.10gb) or the "
        "vendor's partition (cpx_nps4, a vNPU template). The counts below are then slices.",
    )
    replicas: int | None = Field(
        None,
        ge=0,
        description="Units that share one device (or slice) when the device plugin shares it (time-slicing, MPS): "
        "the counts below are then replicas, never offered to a task that asks for whole devices. 0: not known.",
    )
    capacity: int = Field(0, ge=0, description="Devices installed.")
    allocatable: int = Field(0, ge=0, description="Devices offered to pods.")
    allocated: int = Field(0, ge=0, description="Devices requested by running and assumed pods.")
    free: int = Field(0, ge=0, description="Allocatable minus allocated, never below 0.")
    largest_free_slot: int = Field(
        0,
        ge=0,
        description="Most devices free on any single node: the largest replica that fits right now.",
    )
