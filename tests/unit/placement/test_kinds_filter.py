"""Kinds: a task goes only to members that serve its workload kind; the rejection names the kind."""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Demand, place
from computenet.placement import reasons as r

from .builders import IdentifierBuilder, identifier, node, pool, task

JOBSET = "jobset.x-k8s.io/v1alpha2 JobSet"
LWS = "leaderworkerset.x-k8s.io/v1 LeaderWorkerSet"
JOB = "batch/v1 Job"


def member(name: str, kinds: frozenset[str] | None) -> IdentifierBuilder:
    b = identifier(name).nodes(node(f"{name}-n").cpu("16").memory("64Gi"))
    b.ident = replace(b.ident, workload_kinds=kinds)
    return b


def of_kind(kind: str | None) -> Demand:
    return replace(task().cpu("1").build(), kind=kind)


@pytest.mark.parametrize(
    ("kinds", "kind", "rejected"),
    [
        pytest.param(frozenset({JOB, JOBSET}), JOBSET, None, id="a member with the JobSet CRD takes a JobSet"),
        pytest.param(frozenset({JOB}), JOBSET, r.KIND_NOT_SERVED, id="a member without the JobSet CRD does not"),
        pytest.param(frozenset({JOB, JOBSET}), LWS, r.KIND_NOT_SERVED, id="serving JobSet says nothing of LWS"),
        pytest.param(None, JOBSET, None, id="a member whose kinds are not known yet is not rejected"),
        pytest.param(frozenset(), None, None, id="a task without a kind (a Job) is not filtered"),
        pytest.param(frozenset({JOB}), JOB, None, id="a Job goes where Jobs are served"),
    ],
)
def test_kinds(kinds: frozenset[str] | None, kind: str | None, rejected: str | None) -> None:
    decision = place(pool(member("m", kinds)), of_kind(kind))
    got = decision.rejections["m"].reason if "m" in decision.rejections else None
    assert got == rejected
    assert (decision.chosen is not None) == (rejected is None)


def test_the_rejection_names_the_missing_kind_and_what_the_member_serves() -> None:
    decision = place(pool(member("plain", frozenset({JOB})), member("full", frozenset({JOB, JOBSET}))), of_kind(JOBSET))
    assert decision.chosen is not None
    assert decision.chosen.identifier == "full"
    rejection = decision.rejections["plain"]
    assert rejection.phrase == f"serves no {JOBSET}"
    assert rejection.message == f"its member serves {JOB}; the task is a {JOBSET}"
    assert decision.summary.endswith(f"1/2 identifiers fit; rejected: 1 serves no {JOBSET}")
