"""The data path in the API: a task's inputs and outputs, the stores they live in, ComputeDataset.

A task names each input by an ``s3://bucket/key`` URI in an S3-compatible store, or by a dataset
(a ComputeDataset in its namespace, whose replicas say where copies of the data are, by region), and
the path in its pods where the input appears; each output by the path its pods write and the URI it
goes to. ``credentials`` names, per bucket, the store's endpoint and the Secret (in the task's
namespace) holding its keys; it is opt-in, and such a Secret is copied to the member only for the
task. An identifier declares the store near its compute (``spec.storage``) and what moving a GiB out
of its region costs. docs/data.md tells how the pieces fit and what is built so far.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field

from computenet.api.common import ApiModel, Condition, ObjectMeta, SpecModel, StatusModel
from computenet.api.constants import API_VERSION
from computenet.api.fields import DnsLabel, Price, QuantitySpec, Rule, SubdomainName, Timestamp
from computenet.data.location import BUCKET_PATTERN, CHECKSUM_PATTERN, S3_URI_PATTERN
from computenet.quantity import to_int_units

__all__ = [
    "ComputeDataset",
    "ComputeDatasetSpec",
    "ComputeDatasetStatus",
    "DataInput",
    "DataOutput",
    "DataStaging",
    "DatasetReplica",
    "IdentifierStorage",
    "OutputStatus",
    "ReplicaStatus",
    "StoreCredential",
    "TaskDataStatus",
    "TransferStatus",
]

S3Uri = Annotated[str, Field(min_length=8, max_length=1100, pattern=S3_URI_PATTERN)]
"""``s3://bucket/key``; a key ending with ``/`` (or none) means every object under that prefix."""
Bucket = Annotated[str, Field(min_length=3, max_length=63, pattern=f"^{BUCKET_PATTERN}$")]
Checksum = Annotated[str, Field(max_length=71, pattern=CHECKSUM_PATTERN)]
"""``sha256:`` and 64 lowercase hex digits: the SHA-256 of the object's bytes."""
Endpoint = Annotated[str, Field(min_length=8, max_length=512, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")]
"""The store's S3 endpoint URL, ``http(s)://host[:port][/path]``."""
MountPath = Annotated[str, Field(min_length=2, max_length=1024, pattern=r"^/[^\x00]*[^/\x00]$")]
"""An absolute path in the pods, not ``/`` itself and without a trailing ``/``."""
DataSize = Annotated[str, QuantitySpec(maximum="100Pi", allow_zero=True)]


def _distinct(field: str) -> Any:
    """A validator refusing two items with the same ``field`` (the server's list-map rule, in Python)."""

    def check(items: list[Any] | None) -> list[Any] | None:
        seen: set[str] = set()
        for item in items or []:
            key = getattr(item, field)
            if key in seen:
                raise ValueError(f"duplicate {field} {key!r}")
            seen.add(key)
        return items

    return AfterValidator(check)


def _map_list(key: str) -> dict[str, Any]:
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key]}


class DataInput(SpecModel):
    """One input: a URI or a dataset, and where it appears in the pods."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "has(self.uri) != has(self.dataset)",
            "set exactly one of uri and dataset",
            check=lambda i: (i.uri is None) != (i.dataset is None),
        ),
    )

    uri: S3Uri | None = Field(None, description="Where the input is: s3://bucket/key, or a prefix ending with /.")
    dataset: SubdomainName | None = Field(None, description="A ComputeDataset in the task's namespace.")
    mount_path: MountPath = Field(description="Path in the pods where the input appears (a file, or a directory).")
    size: DataSize | None = Field(None, description="Size of the input, such as 20Gi, for placement to weigh.")
    checksum: Checksum | None = Field(None, description="Expected sha256:<hex> of the object; a mismatch fails.")


class DataOutput(SpecModel):
    """One output: what the pods leave at a path, copied to a URI after the workload succeeds."""

    mount_path: MountPath = Field(description="Path in the pods whose content is the output.")
    uri: S3Uri = Field(description="Where the output goes: s3://bucket/key, or a prefix ending with /.")


class StoreCredential(SpecModel):
    """The store serving one bucket, and the Secret holding its keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)."""

    bucket: Bucket = Field(description="The bucket the task's URIs name.")
    endpoint: Endpoint = Field(description="The store's S3 endpoint URL.")
    secret_name: SubdomainName = Field(
        description="A Secret in the task's namespace; copied to the member for this task only, removed with it."
    )


class DataStaging(SpecModel):
    """The inputs, outputs and store credentials of a task (``spec.data``), and caps on moving them."""

    max_transfer_seconds: int | None = Field(
        None, ge=0, le=2_592_000, strict=True,
        description="Most seconds moving the task's data into the chosen identifier's region may take (bytes not "
        "already there over the bandwidth of the link; 0: the data must already be there). Identifiers that would "
        "take longer, or declare no bandwidth, are not chosen.",
    )  # fmt: skip
    max_data_cost: Price | None = Field(
        None,
        description="Most moving the task's data into the chosen identifier's region may cost, in "
        "spec.constraints.currency (GiB moved x the egressPricePerGiB of the store each comes from). Identifiers "
        "whose cost is higher, unknown or in another currency are not chosen.",
    )
    inputs: Annotated[list[DataInput], _distinct("mount_path")] | None = Field(
        None, max_length=32, description="Inputs staged near the chosen compute and into the pods.",
        json_schema_extra=_map_list("mountPath"),
    )  # fmt: skip
    outputs: Annotated[list[DataOutput], _distinct("mount_path")] | None = Field(
        None, max_length=32, description="Outputs copied to their destinations after the workload succeeds.",
        json_schema_extra=_map_list("mountPath"),
    )  # fmt: skip
    credentials: Annotated[list[StoreCredential], _distinct("bucket")] | None = Field(
        None, max_length=16, description="Per bucket, the store and the Secret of its keys (opt-in).",
        json_schema_extra=_map_list("bucket"),
    )  # fmt: skip

    def input_bytes(self) -> int:
        """The declared sizes of the inputs added up, in bytes (inputs without a size count 0)."""
        return sum(to_int_units(i.size) for i in self.inputs or () if i.size)


class SecretRef(SpecModel):
    """A Secret by name and namespace."""

    name: SubdomainName = Field(description="Name of the Secret.")
    namespace: DnsLabel = Field(description="Namespace of the Secret (usually the operator's namespace).")


class IdentifierStorage(SpecModel):
    """The object store near an identifier's compute, where inputs are staged before its pods read them."""

    endpoint: Endpoint = Field(description="The store's S3 endpoint URL, as reached from the member.")
    bucket: Bucket = Field(description="The bucket staged data goes to.")
    secret_ref: SecretRef = Field(description="Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
    egress_price_per_gib: Price = Field(
        0.0, alias="egressPricePerGiB", description="Price of moving one GiB out of this store (pricing currency)."
    )


class DatasetReplica(SpecModel):
    """One copy of a dataset: where it is and what it holds."""

    region: DnsLabel = Field(description="Region of the store holding this copy.")
    uri: S3Uri = Field(description="Where the copy is: s3://bucket/key, or a prefix ending with /.")
    endpoint: Endpoint | None = Field(None, description="The store's endpoint (default: the region's store).")
    size: DataSize | None = Field(None, description="Size of the copy, such as 20Gi.")
    checksum: Checksum | None = Field(None, description="sha256:<hex> of the copy (single-object datasets).")


class ComputeDatasetSpec(SpecModel):
    """A dataset by its replicas; the operator adds one when it stages the dataset into a region."""

    replicas: Annotated[list[DatasetReplica], _distinct("region")] = Field(
        min_length=1, max_length=64, description="Copies of the dataset, one per region.",
        json_schema_extra=_map_list("region"),
    )  # fmt: skip


class ReplicaStatus(StatusModel):
    """What the operator knows of one replica: when it was made and last used (for eviction)."""

    region: DnsLabel = Field(description="Region of the replica.")
    state: Literal["Ready", "Staging", "Failed"] = Field(description="Ready to read, being staged, or failed.")
    uri: S3Uri | None = Field(
        None, description="Where a replica the operator staged is (in the region's store); none for given ones."
    )
    endpoint: Endpoint | None = Field(None, description="The store holding a staged replica.")
    checksum: Checksum | None = Field(None, description="sha256:<hex> of a staged replica (single objects).")
    bytes: int | None = Field(None, ge=0, description="Bytes the replica holds.")
    staged_time: Timestamp | None = Field(None, description="When the replica was staged (none for given ones).")
    last_used_time: Timestamp | None = Field(None, description="When a task last read it.")
    message: str | None = Field(None, max_length=1024, description="Why it failed, in the store's words.")


class ComputeDatasetStatus(StatusModel):
    """What the operator observes of a dataset's replicas."""

    observed_generation: int | None = Field(None, ge=0, description="The .metadata.generation last acted on.")
    conditions: list[Condition] | None = Field(
        None, max_length=16, description="Conditions.", json_schema_extra=_map_list("type")
    )
    replicas: list[ReplicaStatus] | None = Field(
        None, max_length=64, description="Per region, the replica's state.", json_schema_extra=_map_list("region")
    )


class ComputeDataset(ApiModel):
    """A dataset tasks name as an input; its replicas by region let the data be read near the compute."""

    api_version: Literal["computenet.io/v1alpha1"] = API_VERSION
    kind: Literal["ComputeDataset"] = "ComputeDataset"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ComputeDatasetSpec = Field(description="Where the dataset's copies are.")
    status: ComputeDatasetStatus | None = Field(None, description="What the operator observes.")


class TransferStatus(StatusModel):
    """One copy between stores that staging a task's input takes (a mover Job in the member)."""

    input: int = Field(ge=0, description="Index of the input in spec.data.inputs.")
    job: str = Field(max_length=253, description="The mover Job in the member.")
    source: S3Uri = Field(description="What is copied.")
    destination: S3Uri = Field(description="Where it goes, in the chosen region's store.")
    state: Literal["Pending", "Running", "Succeeded", "Failed"] = Field(description="Where the transfer is.")
    bytes_done: int | None = Field(None, ge=0, description="Bytes at the destination so far.")
    bytes_total: int | None = Field(None, ge=0, description="Bytes to move in all.")
    bytes_moved: int | None = Field(
        None, ge=0, description="Bytes this transfer sent between stores (parts kept by a resume are not counted)."
    )
    rate_bytes_per_second: int | None = Field(None, ge=0, description="Transfer rate of the mover's run.")
    eta_seconds: float | None = Field(None, ge=0, description="Seconds left at that rate (none while unknown).")
    message: str | None = Field(None, max_length=2048, description="Why it failed, in the store's own words.")


class OutputStatus(StatusModel):
    """What the pushes of one output did when the attempt's workload ended (its pods' sidecars)."""

    output: int = Field(ge=0, description="Index of the output in spec.data.outputs.")
    uri: S3Uri = Field(description="Where it went.")
    state: Literal["Succeeded", "Failed"] = Field(
        description="Succeeded: every pod whose work succeeded pushed it; Failed: a push failed or said nothing."
    )
    pods: int = Field(0, ge=0, description="Pods whose push of this output finished (done).")
    bytes: int | None = Field(None, ge=0, description="Bytes that landed at the destination, over those pods.")
    bytes_moved: int | None = Field(
        None, ge=0, description="Bytes the pushes sent (parts kept by a resume are not counted)."
    )
    message: str | None = Field(None, max_length=2048, description="Why it failed, in the store's own words.")


class TaskDataStatus(StatusModel):
    """What staging a task's data took and where it is (``status.data``)."""

    identifier: str | None = Field(None, max_length=253, description="Where the task's data was staged.")
    attempt: int | None = Field(None, ge=0, description="The attempt the staging was for.")
    transfers: list[TransferStatus] | None = Field(
        None, max_length=32, description="Copies between stores, per input not already in the region's store."
    )
    outputs: list[OutputStatus] | None = Field(
        None, max_length=32, description="The attempt's outputs, once its workload ended: per output, its pushes."
    )
    bytes_moved: int = Field(
        0, ge=0, description="Bytes moved for this task, all attempts: copies between stores and outputs pushed."
    )
    cost: float = Field(
        0,
        ge=0,
        description="What moving them cost (egress: GiB x the source store's egressPricePerGiB; an output pushed out "
        "of the compute's region at the price of that region's store), all attempts, in currency; bytes leaving a "
        "store no identifier prices are free here.",
    )
    currency: str | None = Field(None, max_length=3, description="Currency of cost (the first priced copy's).")
