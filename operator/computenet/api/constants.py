"""Names shared by the API, the operator and the remote objects it creates: one place for all of them.

A condition type, a reason or a label key spelled in two places drifts apart sooner or later; here
each is spelled once, and code elsewhere imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

GROUP = "computenet.io"
VERSION = "v1alpha1"
API_VERSION: Final = "computenet.io/v1alpha1"  # spelled out so that models can use it as a Literal
CATEGORY = "computenet"
"""``kubectl get computenet`` lists every kind of the group."""


@dataclass(frozen=True)
class KindInfo:
    """How one kind is named in the API: what the CRD declares and what clients need to address it."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    namespaced: bool

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


IDENTIFIER = KindInfo("ComputeIdentifier", "computeidentifiers", "computeidentifier", ("cid",), False)
POOL = KindInfo("ComputePool", "computepools", "computepool", ("cpool",), False)
TASK = KindInfo("ComputeTask", "computetasks", "computetask", ("ctask",), True)
WORK = KindInfo("ComputeWork", "computeworks", "computework", ("cwork",), True)
"""Pull mode: one dispatched attempt, in the provider's namespace on the hub, run by the member's agent."""
AGENT = KindInfo("ComputeAgent", "computeagents", "computeagent", ("cagent",), True)
"""Pull mode: a member agent's registration and report, in the provider's namespace on the hub."""
QUEUE = KindInfo("ComputeQueue", "computequeues", "computequeue", ("cq",), False)
"""Tenancy: a queue admitting tasks of some namespaces into a pool under quota, fair share and budget."""
DATASET = KindInfo("ComputeDataset", "computedatasets", "computedataset", ("cds",), True)
"""Data: a dataset's replicas by region, named by tasks as an input."""
WORKLOAD_KIND = KindInfo("ComputeWorkloadKind", "computeworkloadkinds", "computeworkloadkind", ("cwk",), False)
"""Workloads: a kind declared for tasks, with its pod sets and status rules (docs/workloads.md)."""
KINDS = (IDENTIFIER, POOL, TASK)
PULL_KINDS = (WORK, AGENT)
"""The kinds of pull mode, in the providers' namespaces."""

URI_SCHEME = "cpi"

DEFAULT_KUBECONFIG_KEY = "kubeconfig"
DEFAULT_TARGET_NAMESPACE = "computenet-workloads"
DEFAULT_POOL = "default"
DEFAULT_CURRENCY = "USD"

FINALIZER = f"{GROUP}/cleanup"
"""On a ComputeTask, held until its remote objects are gone."""

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "computenet"

# Origin labels on every remote object, so a restarted operator adopts what it created and the orphan
# sweep finds what no task owns any more. Label values are limited to 63 characters; the task UID is
# the identity, namespace and name are for humans.
TASK_UID_LABEL = f"{GROUP}/task-uid"
TASK_NAME_LABEL = f"{GROUP}/task-name"
TASK_NAMESPACE_LABEL = f"{GROUP}/task-namespace"
ATTEMPT_LABEL = f"{GROUP}/attempt"
IDENTIFIER_LABEL = f"{GROUP}/identifier"
"""On remote objects: the ComputeIdentifier (name) the object was dispatched through."""
ROLE_LABEL = f"{GROUP}/role"
"""On the pods of a workload of several roles (pod sets): the role, so logs and metering can tell them apart."""
HUB_LABEL = f"{GROUP}/hub"
STAGING_LABEL = f"{GROUP}/staging"
"""On a task's mover Jobs (value ``mover``) and copied store Secrets (``credentials``) in a member; the
workload watch (``hub_selector``) never lists them, since their managed-by is ``computenet-staging``.
Also on the pods of a workload whose sidecars push outputs (value ``outputs``): the operator reads
their pushes' outcomes by it."""
MANAGED_BY_STAGING = "computenet-staging"
"""On remote objects: which hub created them, so two hubs sharing a member never adopt each other's work."""

# Mirrors of an identifier's attributes as labels on the ComputeIdentifier itself, so that a pool's
# identifierSelector can choose by provider, region, zone or class without repeating the spec.
PROVIDER_LABEL = f"{GROUP}/provider"
REGION_LABEL = f"{GROUP}/region"
ZONE_LABEL = f"{GROUP}/zone"
COMPUTE_CLASS_LABEL = f"{GROUP}/compute-class"

ACCELERATOR_MODEL_LABEL = f"{GROUP}/accelerator-model"
"""Node label a provider may set to name the accelerator model when the vendor's own label is absent."""

AGENT_LABEL = f"{GROUP}/agent"
"""Pull mode: on Jobs an agent created in its member, on its Lease on the hub, on ComputeWork: the agent's name."""
APPROVED_LABEL = f"{GROUP}/approved"
"""Pull mode: set to "true" on a ComputeAgent by a hub administrator to accept the agent."""

ORIGIN_ANNOTATION = f"{GROUP}/origin"
"""On remote objects: ``<namespace>/<name>`` of the ComputeTask on the hub, for humans reading a member."""

RESERVED_PREFIX = f"{GROUP}/"
"""Users may not set labels or annotations with this prefix in a task template: the operator owns them."""


class Vendor(StrEnum):
    """Accelerator vendors a task can ask for."""

    NVIDIA = "nvidia"
    AMD = "amd"
    INTEL = "intel"
    HUAWEI = "huawei"
    CAMBRICON = "cambricon"
    HYGON = "hygon"


ACCELERATOR_RESOURCES: dict[Vendor, str] = {
    Vendor.NVIDIA: "nvidia.com/gpu",
    Vendor.AMD: "amd.com/gpu",
    Vendor.INTEL: "gpu.intel.com/i915",
    Vendor.HUAWEI: "huawei.com/Ascend910",
    Vendor.CAMBRICON: "cambricon.com/mlu",
    Vendor.HYGON: "hygon.com/dcu",
}
"""The extended resource name through which each vendor's device plugin exposes its devices."""


class AcceleratorSharing(StrEnum):
    """Whether a task's devices may be shared with other containers.

    Shared units are what NVIDIA's sharing strategies (time-slicing, MPS: ``nvidia.com/gpu.sharing-strategy``)
    and other vendors' sharing plugins advertise: replicas of one device.
    """

    EXCLUSIVE = "Exclusive"
    SHARED = "Shared"


class ComputeClass(StrEnum):
    """What an identifier is built for; tasks may restrict placement to one class."""

    GENERAL = "general"
    AI = "ai"
    HPC = "hpc"
    EDGE = "edge"


class Architecture(StrEnum):
    """CPU architectures, spelled as in the kubernetes.io/arch node label."""

    AMD64 = "amd64"
    ARM64 = "arm64"
    PPC64LE = "ppc64le"
    S390X = "s390x"
    RISCV64 = "riscv64"


class Phase(StrEnum):
    """Where a ComputeTask is in its life; the last three are terminal."""

    PENDING = "Pending"
    OFFERED = "Offered"
    DISPATCHING = "Dispatching"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)


class FailoverPolicy(StrEnum):
    """What happens to a task whose member is lost for longer than the grace period."""

    NEVER = "Never"
    REQUEUE = "Requeue"


class PlacementStrategy(StrEnum):
    """How the fit score prefers identifiers: fill the busiest (Binpack) or the emptiest (Spread)."""

    BINPACK = "Binpack"
    SPREAD = "Spread"


class SelectorOperator(StrEnum):
    """Operators of a label selector requirement, as in metav1.LabelSelector."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class ConditionStatus(StrEnum):
    """The status of a condition, as in metav1.Condition."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ConditionType(StrEnum):
    """Condition types on the three kinds."""

    READY = "Ready"
    """Identifier: reachable, healthy and fresh enough to place work on. Pool: has a ready member."""
    REACHABLE = "Reachable"
    """Identifier: the member's API server answered recently."""
    VALID = "Valid"
    """Any kind: the operator's checks beyond the schema passed (False names the field and the rule)."""
    PLACED = "Placed"
    """Task: an identifier was chosen (False explains why none fits)."""
    DISPATCHED = "Dispatched"
    """Task: the workload exists in the chosen member."""
    DISPATCHABLE = "Dispatchable"
    """Identifier: the last dispatch there created its workload (False: the member's setup stops it,
    such as a target namespace the operator may not create). Absent until the first dispatch."""
    ACTIVE = "Active"
    """ComputeQueue: admitting tasks (False: its pool is missing, or it is over its budget)."""
    APPLIED = "Applied"
    """ComputeWork: the agent created (or adopted) the Job in its member."""
    APPROVED = "Approved"
    """ComputeAgent: a hub administrator accepted the agent and the operator issued its credential."""
    AVAILABLE = "Available"
    """Task of a serving kind: every replica is available (False, with the member's words, from the
    moment a Running task's replicas were seen unavailable; absent until that first happens)."""
    DATA_STAGED = "DataStaged"
    """Task: its inputs are in the chosen region's store (False: staging runs, or failed, in the store's words)."""
    OUTPUTS_UPLOADED = "OutputsUploaded"
    """Task with outputs: every output of the finished attempt reached its destination (False: a push
    failed, or said nothing, in the store's words). Absent until the attempt's workload ends."""


class Reason(StrEnum):
    """Machine-readable reasons for conditions and events (CamelCase, as Kubernetes expects)."""

    VALID = "Valid"
    INVALID_SPEC = "InvalidSpec"
    SECRET_NOT_FOUND = "SecretNotFound"
    KUBECONFIG_INVALID = "KubeconfigInvalid"
    REACHABLE = "Reachable"
    UNREACHABLE = "Unreachable"
    HEARTBEAT_STALE = "HeartbeatStale"
    READY = "Ready"
    NO_READY_MEMBERS = "NoReadyMembers"
    POOL_NOT_FOUND = "PoolNotFound"
    NO_FIT = "NoFit"
    OFFERS_READY = "OffersReady"
    PLACED = "Placed"
    DISPATCHED = "Dispatched"
    DISPATCH_FAILED = "DispatchFailed"
    MEMBER_LOST = "MemberLost"
    REQUEUED = "Requeued"
    JOB_SUCCEEDED = "JobSucceeded"
    JOB_FAILED = "JobFailed"
    CANCELLED = "Cancelled"
    UNAUTHORIZED = "Unauthorized"
    SYNCING = "Syncing"
    WATCH_FAILING = "WatchFailing"
    NO_SCHEDULABLE_NODES = "NoSchedulableNodes"
    SECRET_OUTSIDE_NAMESPACE = "SecretOutsideNamespace"
    RUNNING = "Running"
    STALE_ATTEMPT_REMOVED = "StaleAttemptRemoved"
    CANCEL_TIMED_OUT = "CancelTimedOut"
    ORPHAN_REMOVED = "OrphanRemoved"
    FORBIDDEN = "Forbidden"
    TARGET_NAMESPACE_UNAVAILABLE = "TargetNamespaceUnavailable"
    DEPENDENCY_MISSING = "DependencyMissing"
    DEPENDENCY_IN_USE = "DependencyInUse"
    """Task: the member holds another task's copy of a ConfigMap, Secret or ResourceClaimTemplate it needs,
    made from an older content of the hub's object; the task waits until that copy is gone."""
    DISPATCHING_WORKS = "DispatchingWorks"
    """The identifier's target namespace cannot be read or created in its member (a setup problem)."""
    ADMISSION_DENIED = "AdmissionDenied"
    """A member's admission (a policy, a webhook) refused the workload for good (a 403 that is not RBAC)."""
    THROTTLED = "Throttled"
    MEMBER_ERROR = "MemberError"
    MEMBER_UNAVAILABLE = "MemberUnavailable"
    MEMBER_NOT_CONNECTED = "MemberNotConnected"
    INTERNAL_ERROR = "InternalError"
    NAME_CONFLICT = "NameConflict"
    JOB_GONE = "JobGone"
    IDENTIFIER_REMOVED = "IdentifierRemoved"
    DRAINING = "Draining"
    """ComputeIdentifier: its connection now leads to another member; the work of the previous one is
    removed there before anything is placed through the new connection."""
    PREEMPTED = "Preempted"
    RESUMED = "Resumed"
    SUSPENDED = "Suspended"
    """ComputeTask: spec.suspend was set while it ran; the attempt ended and the task waits for offers."""
    SPEC_CHANGED = "SpecChanged"
    """ComputeTask: what runs changed in the spec after dispatch; the attempt ended and a new one is placed."""
    UNSCHEDULABLE = "Unschedulable"
    PODS_NOT_STARTED = "PodsNotStarted"
    STAGING = "Staging"
    STAGED = "Staged"
    STAGING_FAILED = "StagingFailed"
    """A dispatched attempt's pods were refused at creation or cannot start (its bound passed)."""
    OUTPUTS_UPLOADED = "OutputsUploaded"
    OUTPUTS_UPLOAD_FAILED = "OutputsUploadFailed"
    """A task's workload ended and an output's push failed (or said nothing): the results did not arrive."""
    UNAVAILABLE = "Unavailable"
    """A serving task's replicas are not all available (Available=False), or stayed so past
    ``spec.failover.unavailableSeconds`` (the attempt ended)."""
    AVAILABLE = "Available"
    OVER_BUDGET = "OverBudget"
    """ComputeQueue: spend in the period reached the budget; nothing more is admitted."""
    EXCEEDS_MAX_QUOTA = "ExceedsMaxQuota"
    """Task: it asks for more than its queue could ever hold (nominal quota plus all it may borrow), so
    waiting cannot help. Kueue's ``WorkloadQuotaReservedReasonExceedsMaxQuota`` (kubernetes-sigs/kueue,
    ``apis/kueue/v1beta2/workload_types.go``)."""
    ADMITTING = "Admitting"
    VALIDATING = "Validating"
    """Task: the operator's checks passed; the hub's verdict on the Job it would dispatch is awaited."""
    AGENT_LEASE_EXPIRED = "AgentLeaseExpired"
    AGENT_NOT_REPORTING = "AgentNotReporting"
    CREATED = "Created"
    ADOPTED = "Adopted"
    PENDING_APPROVAL = "PendingApproval"
    APPROVED = "Approved"
