"""The hub RBAC of pull mode, as objects: what an agent may do, and what its bootstrap credential may.

An agent's credential is a ServiceAccount in its provider's namespace on the hub, bound to one Role
in that namespace and nothing else:

=================================  ===========================  ==================================
resource (group computenet.io)     verbs                        why
=================================  ===========================  ==================================
computeworks                       get, list, watch             the work placed on it
computeworks/status                get, patch, update           mirror its Jobs' status
computeagents                      create                       its ComputeAgent, if missing
computeagents (its own name)       get                          read its registration
computeagents/status (its own)     get, patch, update           write its report
leases (coordination.k8s.io)       create                       its heartbeat, the first time
leases (its own name)              get, patch, update           renew its heartbeat
=================================  ===========================  ==================================

No Secrets, no other namespace, no cluster-scoped resource, and no write to a work's spec: an agent
cannot read or change another provider's work, nor create work for itself. A bootstrap credential
(per agent name) may only create its ComputeAgent, read it, and read the Secret holding the
credential the hub issues on approval.
"""

from __future__ import annotations

from typing import Any

from computenet.api.constants import AGENT, AGENT_LABEL, GROUP, MANAGED_BY, MANAGED_BY_LABEL, WORK

__all__ = ["agent_access", "agent_account", "bootstrap_access", "credential_secret"]


def agent_account(name: str) -> str:
    """The ServiceAccount (and Role, RoleBinding) of agent `name` in its provider namespace."""
    return f"computenet-agent-{name}"


def credential_secret(name: str) -> str:
    """The Secret holding agent `name`'s hub token once approved."""
    return f"computenet-agent-{name}-token"


def _labels(name: str) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, AGENT_LABEL: name}


def _role(namespace: str, role: str, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": role, "namespace": namespace, "labels": _labels(name)},
        "rules": rules,
    }


def _binding(namespace: str, role: str, name: str, account: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": role, "namespace": namespace, "labels": _labels(name)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }


def agent_rules(name: str) -> list[dict[str, Any]]:
    """The rules of agent `name`'s Role (see the table above)."""
    return [
        {"apiGroups": [GROUP], "resources": [WORK.plural], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [GROUP], "resources": [f"{WORK.plural}/status"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": [GROUP], "resources": [AGENT.plural], "verbs": ["create"]},
        {"apiGroups": [GROUP], "resources": [AGENT.plural], "resourceNames": [name], "verbs": ["get"]},
        {
            "apiGroups": [GROUP],
            "resources": [f"{AGENT.plural}/status"],
            "resourceNames": [name],
            "verbs": ["get", "patch", "update"],
        },
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [name],
            "verbs": ["get", "patch", "update"],
        },
    ]


def agent_access(namespace: str, name: str) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding of agent `name` in provider namespace `namespace`."""
    account = agent_account(name)
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": account, "namespace": namespace, "labels": _labels(name)},
        },
        _role(namespace, account, name, agent_rules(name)),
        _binding(namespace, account, name, account),
    ]


def bootstrap_access(namespace: str, name: str) -> list[dict[str, Any]]:
    """What a hub administrator creates to let a provider register agent `name` (a ServiceAccount to mint tokens of)."""
    account = f"computenet-bootstrap-{name}"
    rules = [
        {"apiGroups": [GROUP], "resources": [AGENT.plural], "verbs": ["create"]},
        {"apiGroups": [GROUP], "resources": [AGENT.plural], "resourceNames": [name], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [credential_secret(name)], "verbs": ["get"]},
    ]
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": account, "namespace": namespace, "labels": _labels(name)},
        },
        _role(namespace, account, name, rules),
        _binding(namespace, account, name, account),
    ]
