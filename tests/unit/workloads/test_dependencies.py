"""The ConfigMaps and Secrets a workload's pods reference, and which of them travel with it."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.workloads.dependencies import Reference, claim_templates, references, to_copy


def job(pod: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": pod}}}


CM, SECRET = "ConfigMap", "Secret"


@pytest.mark.parametrize(
    ("pod", "found"),
    [
        pytest.param(
            {
                "containers": [
                    {"name": "m", "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}}]}
                ]
            },
            [Reference(CM, "cfg", False)],
            id="an env value from a ConfigMap key",
        ),
        pytest.param(
            {
                "containers": [
                    {
                        "name": "m",
                        "env": [
                            {"name": "P", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "p", "optional": True}}}
                        ],
                    }
                ]
            },
            [Reference(SECRET, "pw", True)],
            id="an optional env value from a Secret key",
        ),
        pytest.param(
            {
                "containers": [
                    {"name": "m", "envFrom": [{"configMapRef": {"name": "all"}}, {"secretRef": {"name": "s"}}]}
                ]
            },
            [Reference(CM, "all", False), Reference(SECRET, "s", False)],
            id="envFrom both kinds",
        ),
        pytest.param(
            {
                "containers": [{"name": "m"}],
                "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "init"}}]}],
                "volumes": [
                    {"name": "v", "configMap": {"name": "vol", "optional": True}},
                    {"name": "w", "secret": {"secretName": "certs"}},
                    {
                        "name": "p",
                        "projected": {"sources": [{"configMap": {"name": "proj"}}, {"secret": {"name": "psec"}}]},
                    },
                ],
                "imagePullSecrets": [{"name": "regcred"}],
            },
            [
                Reference(CM, "init", False),
                Reference(CM, "proj", False),
                Reference(CM, "vol", True),
                Reference(SECRET, "certs", False),
                Reference(SECRET, "psec", False),
                Reference(SECRET, "regcred", False),
            ],
            id="init containers, volumes, projected sources and image pull secrets",
        ),
        pytest.param(
            {
                "containers": [
                    {"name": "a", "envFrom": [{"configMapRef": {"name": "cfg", "optional": True}}]},
                    {"name": "b", "envFrom": [{"configMapRef": {"name": "cfg"}}]},
                ]
            },
            [Reference(CM, "cfg", False)],
            id="referenced both optionally and not: required",
        ),
        pytest.param({"containers": [{"name": "m", "image": "x"}]}, [], id="a pod that references nothing"),
    ],
)
def test_references_of_a_pod_spec(pod: dict[str, Any], found: list[Reference]) -> None:
    assert list(references(job(pod))) == found


def test_every_pod_spec_of_a_workload_of_several_roles_is_read() -> None:
    jobset = {
        "spec": {
            "replicatedJobs": [
                {
                    "name": "leader",
                    "template": {
                        "spec": {
                            "template": {
                                "spec": {"containers": [{"name": "l", "envFrom": [{"configMapRef": {"name": "lead"}}]}]}
                            }
                        }
                    },
                },
                {
                    "name": "workers",
                    "template": {
                        "spec": {
                            "template": {
                                "spec": {"containers": [{"name": "w", "envFrom": [{"configMapRef": {"name": "work"}}]}]}
                            }
                        }
                    },
                },
            ]
        }
    }
    assert [r.name for r in references(jobset)] == ["lead", "work"]


def test_configmaps_travel_secrets_only_when_the_task_names_them() -> None:
    refs = (Reference(CM, "cfg", False), Reference(SECRET, "named", False), Reference(SECRET, "member-only", False))
    assert to_copy(refs, frozenset({"named", "extra"})) == (
        Reference(CM, "cfg", False),
        Reference(SECRET, "extra", False),
        Reference(SECRET, "named", False),
    )
    assert to_copy(refs, frozenset()) == (Reference(CM, "cfg", False),)


def _claiming(*entries: dict[str, Any]) -> dict[str, Any]:
    return job({"resourceClaims": list(entries), "containers": [{"name": "m"}]})


@pytest.mark.parametrize(
    ("workload", "names"),
    [
        pytest.param(
            _claiming({"name": "gpu", "resourceClaimTemplateName": "one-gpu"}),
            ("one-gpu",),
            id="a claim made from a template names the template",
        ),
        pytest.param(
            _claiming({"name": "shared", "resourceClaimName": "member-claim"}),
            (),
            id="a claim by name names no template (the claim is the member's)",
        ),
        pytest.param(
            _claiming(
                {"name": "b", "resourceClaimTemplateName": "nic"},
                {"name": "a", "resourceClaimTemplateName": "gpu"},
                {"name": "c", "resourceClaimTemplateName": "gpu"},
            ),
            ("gpu", "nic"),
            id="each template once, sorted",
        ),
        pytest.param(
            _claiming({"name": "odd", "resourceClaimTemplateName": 7}, "not a claim", {"name": "empty"}),
            (),
            id="malformed entries name nothing",
        ),
    ],
)
def test_the_claim_templates_a_workload_names(workload: dict[str, Any], names: tuple[str, ...]) -> None:
    assert claim_templates(workload) == names


def test_the_claim_templates_of_every_role_are_named() -> None:
    def role(template: str) -> dict[str, Any]:
        pod = {
            "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": template}],
            "containers": [{"name": "m"}],
        }
        return {"template": {"spec": {"template": {"spec": pod}}}}

    jobset = {"spec": {"replicatedJobs": [role("leader-gpu"), role("worker-gpu")]}}
    assert claim_templates(jobset) == ("leader-gpu", "worker-gpu")
