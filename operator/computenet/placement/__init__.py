"""Placement: given an immutable node-level snapshot of the pool and a task, where it runs, or why not.

Pure: no Kubernetes client, no kopf, no clock. The member layer feeds a `SnapshotBuilder`; the
scheduler loop calls `place` (or `schedule` for a queue) and holds the result with `Assumptions`
until the member reports the pods; a suspended task shows `offers`. See the modules for the why.

    builder = SnapshotBuilder()
    builder.upsert_identifier(Identifier("h100-east", cluster="member-a", region="us-east-1",
                                         pricing=Pricing("USD", per_accelerator_hour={"NVIDIA-H100-80GB-HBM3": 3.2})))
    builder.upsert_node("member-a", node_facts, requested_on_node)      # on every node / pod change
    assumptions = Assumptions(ttl=300)
    for demand, decision in schedule(queued_demands, builder.snapshot(), assumptions, now=loop.time()):
        if demand.suspended:
            show_offers(offers(decision, 3))                             # price, fit, data ETA and cost
        elif decision.chosen:
            dispatch(decision.chosen.identifier, decision.chosen.model)   # already assumed by schedule
        else:
            condition_message = decision.summary                          # "0/5 identifiers fit: ..."
    assumptions.confirm(task_uid)   # once the member reports the task's pods bound
"""

from computenet.placement.accelerators import MODELS, AcceleratorModel, lookup, peak_tflops
from computenet.placement.affinity import (
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PreferredSchedulingTerm,
)
from computenet.placement.assume import Assumption, Assumptions
from computenet.placement.builder import SnapshotBuilder
from computenet.placement.decision import Candidate, Decision, NodeSlot, Rejection
from computenet.placement.demand import (
    AcceleratorDemand,
    Constraints,
    Data,
    DataPiece,
    Demand,
    PodSetDemand,
    Strategy,
    Topology,
    Variant,
    Weights,
)
from computenet.placement.identifiers import ComputeClass, Identifier, Network, Pricing, Store
from computenet.placement.labels import Selector
from computenet.placement.node_accelerator import accelerator_facts
from computenet.placement.nodes import Node, Taint, Toleration
from computenet.placement.offers import Offer, offers
from computenet.placement.pipeline import place
from computenet.placement.pod_spec import PodConstraints, pod_constraints
from computenet.placement.queue import order, schedule
from computenet.placement.snapshot import Capacity, ModelCapacity, Snapshot

__all__ = [
    "MODELS",
    "AcceleratorDemand",
    "AcceleratorModel",
    "Assumption",
    "Assumptions",
    "Candidate",
    "Capacity",
    "ComputeClass",
    "Constraints",
    "Data",
    "DataPiece",
    "Decision",
    "Demand",
    "Identifier",
    "ModelCapacity",
    "Network",
    "Node",
    "NodeAffinity",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "NodeSlot",
    "Offer",
    "PodConstraints",
    "PodSetDemand",
    "PreferredSchedulingTerm",
    "Pricing",
    "Rejection",
    "Selector",
    "Snapshot",
    "SnapshotBuilder",
    "Store",
    "Strategy",
    "Taint",
    "Toleration",
    "Topology",
    "Variant",
    "Weights",
    "accelerator_facts",
    "lookup",
    "offers",
    "order",
    "peak_tflops",
    "place",
    "pod_constraints",
    "schedule",
]
