"""Reason codes for rejected identifiers: one place, so status, events and tests agree.

The code names the kind of problem (machine-readable, stable); the phrase says it for a human
and is what the one-line explanation groups by; the detail message gives this identifier's numbers.
"""

NOT_READY = "NotReady"
NOT_PINNED = "NotPinned"
COMPUTE_CLASS_MISMATCH = "ComputeClassMismatch"
REGION_NOT_ALLOWED = "RegionNotAllowed"
PROVIDER_NOT_ALLOWED = "ProviderNotAllowed"
LATENCY_UNKNOWN = "LatencyUnknown"
LATENCY_ABOVE_MAX = "LatencyAboveMax"
NO_SCHEDULABLE_NODES = "NoSchedulableNodes"
NODE_SELECTOR_MISMATCH = "NodeSelectorMismatch"
NODE_AFFINITY_MISMATCH = "NodeAffinityMismatch"
ARCHITECTURE_MISMATCH = "ArchitectureMismatch"
ACCELERATOR_MISMATCH = "AcceleratorMismatch"
ACCELERATOR_MEMORY_TOO_SMALL = "AcceleratorMemoryTooSmall"
TAINTS_NOT_TOLERATED = "TaintsNotTolerated"
INSUFFICIENT_RESOURCE = "InsufficientResource"
FRAGMENTED = "Fragmented"
GANG_DOES_NOT_FIT = "GangDoesNotFit"
GANG_ORDER = "GangOrder"
PRICE_UNKNOWN = "PriceUnknown"
PRICE_ABOVE_MAX = "PriceAboveMax"
CURRENCY_MISMATCH = "CurrencyMismatch"
NO_SUITABLE_NODE = "NoSuitableNode"
