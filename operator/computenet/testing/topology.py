"""Declarative shapes of the simulated member clusters.

Each member is described by groups of identical kwok nodes (cpu, memory, accelerators, arch,
zone). The defaults differ on purpose, in accelerator models, node shapes, architectures and
regions, so that placement has real choices to make in tests and in the demo. A topology can
also be loaded from YAML (`--topology FILE`) with the same field names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

NVIDIA_GPU = "nvidia.com/gpu"
AMD_GPU = "amd.com/gpu"

# The node labels a GPU operator (NVIDIA GPU feature discovery, AMD's device plugin labeller) sets.
PRODUCT_LABEL = {NVIDIA_GPU: "nvidia.com/gpu.product", AMD_GPU: "amd.com/gpu.product-name"}
MEMORY_LABEL = {NVIDIA_GPU: "nvidia.com/gpu.memory", AMD_GPU: "amd.com/gpu.vram"}


@dataclass(frozen=True)
class Accelerators:
    """`count` physical devices of `product`, advertised as NVIDIA's GPU operator would.

    `replicas` > 1: time-sliced, each GPU advertised `replicas` times (GPU feature discovery's
    ``nvidia.com/gpu.replicas``, ``sharing-strategy=time-slicing`` and the ``-SHARED`` product).
    `mig_profile`: every GPU cut into `mig_slices` MIG instances of that profile under the mixed
    strategy (``nvidia.com/mig-<profile>`` units and labels; no whole ``nvidia.com/gpu``).
    """

    resource: str
    count: int
    product: str
    memory_mib: int
    replicas: int = 1
    mig_profile: str = ""
    mig_slices: int = 0

    def resources(self) -> dict[str, int]:
        """What the device plugin advertises in the node's allocatable."""
        if self.mig_profile:
            return {f"nvidia.com/mig-{self.mig_profile}": self.count * self.mig_slices}
        return {self.resource: self.count * self.replicas}

    def labels(self) -> dict[str, str]:
        """What the labeller says (GPU feature discovery, AMD's node labeller)."""
        shared = self.replicas > 1
        product = f"{self.product}-SHARED" if shared else self.product
        labels = {
            PRODUCT_LABEL[self.resource]: product,
            MEMORY_LABEL[self.resource]: str(self.memory_mib),
            f"{self.resource}.count": str(self.count),
        }
        if shared:
            labels |= {
                f"{self.resource}.replicas": str(self.replicas),
                f"{self.resource}.sharing-strategy": "time-slicing",
            }
        if self.mig_profile:
            mig = f"nvidia.com/mig-{self.mig_profile}"
            gb = int(self.mig_profile.split(".")[1].removesuffix("gb"))
            labels |= {
                "nvidia.com/mig.strategy": "mixed",
                f"{mig}.product": f"{self.product}-MIG-{self.mig_profile}",
                f"{mig}.count": str(self.count * self.mig_slices),
                f"{mig}.memory": str(gb * 1024),
                f"{mig}.replicas": "1",
                f"{mig}.sharing-strategy": "none",
            }
        return labels


@dataclass(frozen=True)
class NodeGroup:
    name: str
    count: int
    cpu: str
    memory: str
    arch: str = "amd64"
    accelerators: Accelerators | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    pods: int = 110
    domains: tuple[tuple[str, int], ...] = ()
    """Interconnect domains: (label key, nodes per domain). Node i gets ``<group>-<i // size>`` as its
    value, so the group's nodes form domains of that many (NVLink cliques, racks)."""


@dataclass(frozen=True)
class MemberShape:
    """One member: its nodes, and the upstream workload controllers it runs.

    `controllers` names them as computenet.testing.controllers.CONTROLLERS does ("jobset", "lws",
    "kuberay"); each comes with its CRDs and webhooks, and a member without one does not serve its kinds.
    """

    region: str
    zone: str
    groups: tuple[NodeGroup, ...]
    controllers: tuple[str, ...] = ()


LEVELS: tuple[tuple[str, str], ...] = (("rack", "topology.computenet.io/rack"), ("clique", "nvidia.com/gpu.clique"))
"""The interconnect levels the dev members' nodes may carry, coarsest first, as (name, node label)."""


def levels_of(shape: MemberShape) -> list[dict[str, str]]:
    """The levels of `LEVELS` the shape's nodes carry, as an identifier's ``spec.topology.levels``."""
    used = {key for group in shape.groups for key, _ in group.domains}
    return [{"name": name, "nodeLabel": label} for name, label in LEVELS if label in used]


_DEFAULT_SHAPES: tuple[MemberShape, ...] = (
    MemberShape(
        region="cn-east",
        zone="cn-east-1a",
        groups=(
            NodeGroup(
                "h100",
                4,
                "96",
                "1Ti",
                accelerators=Accelerators(NVIDIA_GPU, 8, "NVIDIA-H100-80GB-HBM3", 81559),
                # Two NVLink cliques of 2 nodes each (GPU feature discovery's label), one rack of 4.
                domains=(("nvidia.com/gpu.clique", 2), ("topology.computenet.io/rack", 4)),
            ),
            NodeGroup("l4", 4, "16", "64Gi", accelerators=Accelerators(NVIDIA_GPU, 2, "NVIDIA-L4", 23034)),
            NodeGroup("cpu", 2, "32", "128Gi"),
        ),
    ),
    MemberShape(
        region="cn-west",
        zone="cn-west-1b",
        groups=(
            NodeGroup(
                "mi300x",
                2,
                "128",
                "2Ti",
                accelerators=Accelerators(AMD_GPU, 8, "AMD-Instinct-MI300X", 196608),
            ),
            NodeGroup(
                "a100",
                4,
                "64",
                "512Gi",
                accelerators=Accelerators(NVIDIA_GPU, 4, "NVIDIA-A100-SXM4-80GB", 81920),
                domains=(("topology.computenet.io/rack", 2),),  # two racks of 2 nodes
            ),
            NodeGroup("arm", 4, "64", "256Gi", arch="arm64"),
            # A GPU operator's sliced nodes: 4 A100s cut into 7 MIG 1g.10gb slices each, and 2 A10s
            # time-sliced 4 ways. Neither offers a whole GPU; the identifier counts their 6 GPUs once.
            NodeGroup(
                "a100-mig",
                1,
                "64",
                "512Gi",
                accelerators=Accelerators(
                    NVIDIA_GPU, 4, "NVIDIA-A100-SXM4-80GB", 81920, mig_profile="1g.10gb", mig_slices=7
                ),
            ),
            NodeGroup(
                "a10-shared",
                1,
                "32",
                "128Gi",
                accelerators=Accelerators(NVIDIA_GPU, 2, "NVIDIA-A10", 23028, replicas=4),
            ),
        ),
    ),
    MemberShape(
        region="cn-north",
        zone="cn-north-1a",
        groups=(
            NodeGroup(
                "gh200",
                4,
                "72",
                "480Gi",
                arch="arm64",
                accelerators=Accelerators(NVIDIA_GPU, 1, "NVIDIA-GH200-480GB", 97871),
            ),
            NodeGroup("l40s", 4, "48", "384Gi", accelerators=Accelerators(NVIDIA_GPU, 4, "NVIDIA-L40S", 46068)),
            NodeGroup("cpu", 2, "32", "128Gi"),
        ),
    ),
)


def default_shape(index: int) -> MemberShape:
    """The shape of member `index` (1-based); beyond the built-in shapes they repeat."""
    return _DEFAULT_SHAPES[(index - 1) % len(_DEFAULT_SHAPES)]


def node_manifests(shape: MemberShape) -> list[dict[str, Any]]:
    """Node objects for kwok: labels say what a GPU operator would, status says what a kubelet would."""
    nodes: list[dict[str, Any]] = []
    for group in shape.groups:
        for i in range(group.count):
            name = f"{group.name}-{i}"
            labels = {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": group.arch,
                "topology.kubernetes.io/region": shape.region,
                "topology.kubernetes.io/zone": shape.zone,
                "type": "kwok",
                "computenet.io/node-group": group.name,
                **group.labels,
                **{key: f"{group.name}-{i // size}" for key, size in group.domains},
            }
            resources = {"cpu": group.cpu, "memory": group.memory, "pods": str(group.pods)}
            acc = group.accelerators
            if acc is not None:
                resources |= {name: str(amount) for name, amount in acc.resources().items()}
                labels |= acc.labels()
            nodes.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": name,
                        "labels": labels,
                        "annotations": {"kwok.x-k8s.io/node": "fake"},
                    },
                    "spec": {"taints": list(group.taints)} if group.taints else {},
                    "status": {
                        "capacity": resources,
                        "allocatable": resources,
                        "nodeInfo": {"architecture": group.arch, "operatingSystem": "linux"},
                    },
                }
            )
    return nodes


def load_shapes(path: Path) -> list[MemberShape]:
    """Read member shapes from YAML: a list of {region, zone, groups: [{name, count, cpu, ...}], controllers}."""
    raw = yaml.safe_load(path.read_text())
    shapes = []
    for member in raw:
        groups = []
        for g in member["groups"]:
            acc = g.pop("accelerators", None)
            groups.append(NodeGroup(**g, accelerators=Accelerators(**acc) if acc else None))
        controllers = tuple(member.get("controllers", ()))
        shapes.append(MemberShape(member["region"], member["zone"], tuple(groups), controllers))
    return shapes


if __name__ == "__main__":
    import sys

    # Print the nodes of default member N as YAML (used by hack/kind-up.sh).
    print(yaml.safe_dump_all(node_manifests(default_shape(int(sys.argv[1])))))
