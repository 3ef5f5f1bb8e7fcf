"""Placement regret: pods of dispatched tasks that the member's own kube-scheduler could not bind.

Pure bookkeeping over what ``kubectl get -o json`` returns; the test and the benchmark feed it.

- `Ledger.observe_pods(member, items)`: pods carrying ``computenet.io/task-uid``, seen in a member;
  a pod is *bound* once it has ``spec.nodeName``, *unschedulable* while its PodScheduled condition is
  False with reason Unschedulable (kube-scheduler's own wording is kept as the message).
- `Ledger.observe_events(member, items)`: the member's Events; a ``FailedScheduling`` event on a
  pod marks it unschedulable too, so a pod the scheduler rejected and bound between two polls counts.
- `tally(tasks, ledger)`: per task, dispatched (``status.remote`` or ``Dispatched=True``) or waiting;
  each waiting task must say why in one line (``Placed=False`` with a reason and a single-line
  message); each pod of a dispatched task marked unschedulable is one unit of regret, unless the task
  says its snapshot was stale (a condition whose reason or message mentions "stale").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from computenet.api.constants import TASK_UID_LABEL


@dataclass
class PodRecord:
    """What was seen of one pod: its task, node, and the scheduler's last refusal."""

    member: str
    name: str
    task_uid: str
    node: str | None = None
    unschedulable: str | None = None


@dataclass
class Ledger:
    """Every pod of a task seen in a member, keyed by (member, pod name)."""

    pods: dict[tuple[str, str], PodRecord] = field(default_factory=dict)
    unattributed: list[tuple[str, str, str]] = field(default_factory=list)
    """FailedScheduling events on pods never seen: (member, pod, message)."""

    def observe_pods(self, member: str, items: Iterable[Mapping[str, Any]]) -> None:
        for pod in items:
            meta = pod.get("metadata") or {}
            uid = (meta.get("labels") or {}).get(TASK_UID_LABEL)
            if not uid:
                continue
            key = (member, meta["name"])
            record = self.pods.setdefault(key, PodRecord(member, meta["name"], uid))
            record.node = (pod.get("spec") or {}).get("nodeName") or record.node
            for c in (pod.get("status") or {}).get("conditions") or ():
                if (
                    c.get("type") == "PodScheduled"
                    and c.get("status") == "False"
                    and c.get("reason") == "Unschedulable"
                ):
                    record.unschedulable = one_line(c.get("message") or "Unschedulable")

    def observe_events(self, member: str, items: Iterable[Mapping[str, Any]]) -> None:
        for event in items:
            involved = event.get("involvedObject") or {}
            if event.get("reason") != "FailedScheduling" or involved.get("kind") != "Pod":
                continue
            message = one_line(event.get("message") or event.get("note") or "FailedScheduling")
            record = self.pods.get((member, involved.get("name", "")))
            if record is None:
                self.unattributed.append((member, involved.get("name", ""), message))
            else:
                record.unschedulable = record.unschedulable or message

    def of(self, task_uid: str) -> list[PodRecord]:
        return [p for p in self.pods.values() if p.task_uid == task_uid]


@dataclass(frozen=True)
class Regret:
    """One pod of a dispatched task that its member's scheduler could not bind."""

    task: str
    member: str
    pod: str
    node: str | None
    message: str

    def __str__(self) -> str:
        bound = f"bound later to {self.node}" if self.node else "never bound"
        return f"task {self.task}: pod {self.member}/{self.pod} ({bound}): {self.message}"


@dataclass(frozen=True)
class Tally:
    """The figures of one run; `regret` is the figure whose goal is 0."""

    tasks: int
    dispatched: list[str]
    waiting_with_reason: list[str]
    waiting_without_reason: list[str]
    regret: list[Regret]
    stale_excused: list[Regret]
    unbound: dict[str, int]
    """Dispatched task name -> replicas whose pod was not yet seen bound."""

    def figures(self) -> dict[str, Any]:
        return {
            "placement_regret": len(self.regret),
            "dispatched": len(self.dispatched),
            "waiting_with_reason": len(self.waiting_with_reason),
            "waiting_without_reason": len(self.waiting_without_reason),
            "stale_excused": len(self.stale_excused),
            "tasks": self.tasks,
        }


def condition(task: Mapping[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in (task.get("status") or {}).get("conditions") or () if c.get("type") == type_), {})


def dispatched(task: Mapping[str, Any]) -> bool:
    """Whether the operator sent the task's workload to a member."""
    return bool((task.get("status") or {}).get("remote")) or condition(task, "Dispatched").get("status") == "True"


def says_why_in_one_line(task: Mapping[str, Any]) -> bool:
    """Placed=False with a reason and a non-empty message of one line."""
    placed = condition(task, "Placed")
    message = placed.get("message") or ""
    return placed.get("status") == "False" and bool(placed.get("reason")) and bool(message) and "\n" not in message


def says_stale(task: Mapping[str, Any]) -> bool:
    conditions = (task.get("status") or {}).get("conditions") or ()
    return any("stale" in f"{c.get('reason', '')} {c.get('message', '')}".lower() for c in conditions)


def one_line(text: str) -> str:
    return " ".join(text.split())


def tally(tasks: Iterable[Mapping[str, Any]], ledger: Ledger) -> Tally:
    """The figures for `tasks` (hub ComputeTask objects) given what `ledger` saw in the members."""
    counted = list(tasks)
    sent: list[str] = []
    with_reason: list[str] = []
    without: list[str] = []
    regret: list[Regret] = []
    excused: list[Regret] = []
    unbound: dict[str, int] = {}
    for task in counted:
        name, uid = task["metadata"]["name"], task["metadata"]["uid"]
        if not dispatched(task):
            (with_reason if says_why_in_one_line(task) else without).append(name)
            continue
        sent.append(name)
        pods = ledger.of(uid)
        replicas = int((task.get("spec") or {}).get("replicas", 1))
        missing = replicas - sum(1 for p in pods if p.node)
        if missing > 0:
            unbound[name] = missing
        for p in pods:
            if p.unschedulable:
                (excused if says_stale(task) else regret).append(
                    Regret(name, p.member, p.name, p.node, p.unschedulable)
                )
    return Tally(len(counted), sent, with_reason, without, regret, excused, unbound)
