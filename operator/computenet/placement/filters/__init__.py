"""Filter plugins, one rule each; the pipeline runs them in the order of `DEFAULT_FILTERS`.

Cheap identifier-level rules come first, node-level rules after, each assuming the ones before
passed, so that a rejection names the most specific problem: an identifier whose nodes carry the
right GPUs but all untolerated taints says "taints", not "insufficient GPUs".
"""

from computenet.placement.filters.accelerator import Accelerator
from computenet.placement.filters.architecture import Architecture
from computenet.placement.filters.avoided import Avoided
from computenet.placement.filters.compute_class import ComputeClassFilter
from computenet.placement.filters.data_cost import MaxDataCost
from computenet.placement.filters.devices import Devices
from computenet.placement.filters.kinds import Kinds
from computenet.placement.filters.latency import Latency
from computenet.placement.filters.node_affinity import NodeAffinity
from computenet.placement.filters.node_selector import NodeSelector
from computenet.placement.filters.pinned import Pinned
from computenet.placement.filters.price import MaxPrice
from computenet.placement.filters.providers import Providers
from computenet.placement.filters.ready import Ready
from computenet.placement.filters.regions import Regions
from computenet.placement.filters.resources import Resources
from computenet.placement.filters.staging import Staging
from computenet.placement.filters.taints import Taints
from computenet.placement.filters.transfer_time import MaxTransfer
from computenet.placement.framework import Filter

DEFAULT_FILTERS: tuple[Filter, ...] = (
    Pinned(),
    Ready(),
    Avoided(),
    Kinds(),
    Staging(),
    ComputeClassFilter(),
    Regions(),
    Providers(),
    Latency(),
    MaxTransfer(),
    MaxDataCost(),
    NodeSelector(),
    NodeAffinity(),
    Architecture(),
    Accelerator(),
    Taints(),
    Devices(),
    Resources(),
    MaxPrice(),
)

__all__ = [
    "DEFAULT_FILTERS",
    "Accelerator",
    "Architecture",
    "Avoided",
    "ComputeClassFilter",
    "Devices",
    "Kinds",
    "Latency",
    "MaxDataCost",
    "MaxPrice",
    "MaxTransfer",
    "NodeAffinity",
    "NodeSelector",
    "Pinned",
    "Providers",
    "Ready",
    "Regions",
    "Resources",
    "Staging",
    "Taints",
]
