"""The plugin user `make dev-up` creates may do what every `kubectl computenet` verb asks, and no more.

The hub's own authorizer answers (`kubectl auth can-i` with the user's token kubeconfig), for the
rights docs/plugin.md lists: submit and read tasks, read their logs, read the pool.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from computenet.testing import devenv
from computenet.testing.federation import Cluster
from support.timeouts import STATE_S
from support.wait import eventually


@pytest.fixture(scope="module")
def user_kubeconfig(hub: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    devenv.install_crds(hub)  # as dev-up has them: the rules name the computenet kinds
    hub.kubectl("create", "namespace", devenv.NAMESPACE, check=False)  # the operator's
    kubeconfig = devenv.plugin_user_kubeconfig(hub, tmp_path_factory.mktemp("plugin-user") / "user.kubeconfig")
    # The hub's authorizer learns of new bindings through its informers, a moment after they are created.
    eventually(lambda: _can(kubeconfig, "list", "computepools.computenet.io"), timeout=STATE_S)
    return kubeconfig


def _can(kubeconfig: Path, *args: str) -> bool:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "auth", "can-i", *args],
        text=True,
        capture_output=True,
        timeout=60,
    )
    answer = done.stdout.strip()
    assert answer in ("yes", "no"), f"kubectl auth can-i {' '.join(args)}: {done.stdout}{done.stderr}"
    return answer == "yes"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("create", "computetasks.computenet.io", "-n", "default"), id="submit a task"),
        pytest.param(("patch", "computetasks.computenet.io", "-n", "default"), id="accept an offer"),
        pytest.param(("get", "computetasks.computenet.io", "--subresource=log", "-n", "default"), id="logs"),
        pytest.param(("list", "computeidentifiers.computenet.io"), id="top and simulate read identifiers"),
        pytest.param(("list", "computepools.computenet.io"), id="and pools"),
    ],
)
def test_the_plugin_user_may_do_what_the_verbs_ask(user_kubeconfig: Path, args: tuple[str, ...]) -> None:
    assert _can(user_kubeconfig, *args)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("list", "secrets", "-n", devenv.NAMESPACE), id="read the operator's secrets"),
        pytest.param(("delete", "computeidentifiers.computenet.io"), id="remove an identifier"),
        pytest.param(
            ("patch", "computetasks.computenet.io", "--subresource=status", "-n", "default"), id="write status"
        ),
    ],
)
def test_the_plugin_user_may_not_do_more(user_kubeconfig: Path, args: tuple[str, ...]) -> None:
    assert not _can(user_kubeconfig, *args)
