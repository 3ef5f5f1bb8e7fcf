"""Which of its kinds an agent's member serves, from its API discovery: what it reports and watches."""

from __future__ import annotations

import pytest

from computenet.agent.discovery import MemberKinds, resolve
from computenet.agent.kinds import AgentKinds, Resource
from computenet.workloads.kinds import DEPLOYMENT, KINDS

GR = "widgets.example.com"
V1 = Resource("example.com/v1", "Widget", "widgets")
V1ALPHA1 = Resource("example.com/v1alpha1", "Widget", "widgets")
JOBSET = KINDS[("jobset.x-k8s.io/v1alpha2", "JobSet")]
BATCH = {"batch/v1": {"jobs": "Job", "cronjobs": "CronJob"}}
APPS = {"apps/v1": {"deployments": "Deployment", "statefulsets": "StatefulSet", "replicasets": "ReplicaSet"}}
JOBSETS = {"jobset.x-k8s.io/v1alpha2": {"jobsets": "JobSet"}}
BOTH_WIDGETS = {"example.com/v1": {"widgets": "Widget"}, "example.com/v1alpha1": {"widgets": "Widget"}}
WIDGET_VERSIONS = {"example.com": ["v1", "v1alpha1"]}


@pytest.mark.parametrize(
    ("kinds", "versions", "resources", "expected"),
    [
        pytest.param(AgentKinds(), {}, BATCH, MemberKinds(("batch/v1 Job",), {}), id="an agent of Jobs only runs Jobs"),
        pytest.param(
            AgentKinds((DEPLOYMENT,)),
            {},
            {**BATCH, **APPS},
            MemberKinds(("apps/v1 Deployment", "batch/v1 Job"), {"deployments.apps": Resource.of(DEPLOYMENT)}),
            id="an enabled built-in kind the member serves; a served kind not enabled is not run",
        ),
        pytest.param(
            AgentKinds((DEPLOYMENT, JOBSET)),
            {},
            {**BATCH, **APPS},
            MemberKinds(("apps/v1 Deployment", "batch/v1 Job"), {"deployments.apps": Resource.of(DEPLOYMENT)}),
            id="an enabled built-in kind without its CRD is left out, the others stay",
        ),
        pytest.param(
            AgentKinds((JOBSET,)),
            {},
            {**BATCH, **JOBSETS},
            MemberKinds(
                ("batch/v1 Job", "jobset.x-k8s.io/v1alpha2 JobSet"), {"jobsets.jobset.x-k8s.io": Resource.of(JOBSET)}
            ),
            id="an enabled built-in kind whose CRD is installed",
        ),
        pytest.param(
            AgentKinds((KINDS[("v1", "Pod")],)),
            {},
            BATCH,
            MemberKinds(("batch/v1 Job", "v1 Pod"), {"pods": Resource.of(KINDS[("v1", "Pod")])}),
            id="Pods: the core group is always served",
        ),
        pytest.param(
            AgentKinds(declared=frozenset({GR})),
            WIDGET_VERSIONS,
            {**BATCH, **BOTH_WIDGETS},
            MemberKinds(("batch/v1 Job", "example.com/v1 Widget", "example.com/v1alpha1 Widget"), {GR: V1}),
            id="a declared kind in every version served, watched in the preferred one",
        ),
        pytest.param(
            AgentKinds(declared=frozenset({GR})),
            WIDGET_VERSIONS,
            {**BATCH, "example.com/v1": {"gadgets": "Gadget"}, "example.com/v1alpha1": {"widgets": "Widget"}},
            MemberKinds(("batch/v1 Job", "example.com/v1alpha1 Widget"), {GR: V1ALPHA1}),
            id="another version of a declared kind when the preferred one lacks the resource",
        ),
        pytest.param(
            AgentKinds(declared=frozenset({GR})), {}, BATCH, MemberKinds(("batch/v1 Job",), {}), id="a group not served"
        ),
        pytest.param(
            AgentKinds(declared=frozenset({GR})),
            {"example.com": ["v1"]},
            {**BATCH, "example.com/v1": {"gadgets": "Gadget"}},
            MemberKinds(("batch/v1 Job",), {}),
            id="a served group that lacks the declared resource",
        ),
    ],
)
def test_what_the_member_serves_of_the_agents_kinds(
    kinds: AgentKinds,
    versions: dict[str, list[str]],
    resources: dict[str, dict[str, str]],
    expected: MemberKinds,
) -> None:
    assert resolve(kinds, versions, resources) == expected
