"""A member identity of a test's own: a ServiceAccount bound to a role it chooses, stored as a hub Secret."""

from __future__ import annotations

import base64
from typing import Any

import yaml

from computenet.testing import devenv
from computenet.testing.federation import Cluster


def member_identity(member: Cluster, hub: Cluster, name: str, role: str, rules: list[dict[str, Any]] | None) -> None:
    """A ServiceAccount in the member bound to `role` (created from `rules` when given), as a hub Secret."""
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": name}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": name}],
        },
    ]
    if rules is not None:
        objs.insert(
            0,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": role},
                "rules": rules,
            },
        )
    devenv.apply(member, *objs)
    token = member.kubectl("-n", name, "create", "token", name, "--duration=3h").stdout.strip()
    admin = yaml.safe_load(member.kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "server": cluster["server"],
                    "certificate-authority-data": cluster["certificate-authority-data"],
                },
            }
        ],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    devenv.apply(
        hub,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{name}-kubeconfig", "namespace": devenv.NAMESPACE},
            "data": {"kubeconfig": base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()},
        },
    )
