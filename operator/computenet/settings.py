"""Operator settings, from flags first, then `COMPUTENET_*` environment variables, then defaults.

The Helm chart sets the environment; a developer running `computenet run` locally uses flags.
Every field `x_y` is the flag `--x-y` and the variable `COMPUTENET_X_Y`; a boolean is also
`--no-x-y`, and in the environment one of true/false, 1/0, yes/no, on/off.
"""

from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass, fields

from computenet.leader.election import ElectionConfigError, Timing, check_identity

ENV_PREFIX = "COMPUTENET_"
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the flag or variable and the value."""


@dataclass(frozen=True)
class Settings:
    namespace: str = "computenet-system"
    """The operator's namespace: member kubeconfig Secrets are read here and only here."""
    hub_id: str = "hub"
    """Identity of this hub, written into origin labels so two hubs sharing a member never mix work."""
    kubeconfig: str = ""
    """Kubeconfig of the hub; empty means in-cluster (or $KUBECONFIG)."""
    metrics_port: int = 8080
    health_port: int = 8081
    endpoint_port: int = 8443
    """HTTPS port of the logs and placement-snapshot endpoint that `kubectl computenet` calls."""
    endpoint_cert_file: str = ""
    """TLS certificate (PEM) of that endpoint; empty (or no key file) leaves the endpoint off."""
    endpoint_key_file: str = ""
    """TLS private key (PEM) of that endpoint."""
    endpoint_tls_secret: str = ""
    """A kubernetes.io/tls Secret in `namespace` holding the endpoint's certificate (instead of the files)."""
    log_level: str = "INFO"
    image: str = "ghcr.io/computenet/computenet:latest"
    """The operator's own image: mover Jobs and the pods' data steps run ``computenet stage`` from it."""
    status_coalesce_s: float = 0.5
    """Status writes for one object are at most this often; changes in between are merged."""
    sweep_interval_s: float = 60.0
    """How often remote Jobs whose task is gone are looked for and removed."""
    heartbeat_refresh_s: float = 30.0
    """A pool's status is recomputed at least this often, even when no identifier changed."""
    identifier_status_refresh_s: float = 300.0
    """An unchanged identifier's status is rewritten this often, to refresh its last heartbeat
    (the kubelet's default ``nodeStatusReportFrequency``; see `statuses.budget`)."""
    identifier_status_writes_per_s: float = 4.0
    """Hub writes per second, for all identifiers together, for status changes of counts only
    (nodes, resources, free slots); changes of conditions are written at once, outside this budget."""
    leader_elect: bool = True
    """Work only while holding the leader Lease, so several replicas can run with one active."""
    leader_lease_name: str = "computenet-operator"
    """Name of the coordination.k8s.io/v1 Lease in `namespace` that the replicas compete for."""
    leader_identity: str = ""
    """This replica's holder identity in the Lease; empty means `<hostname>_<pid>`."""
    leader_lease_duration_s: int = 10
    """A standby takes over after not seeing the Lease renewed for this long (whole seconds)."""
    leader_renew_deadline_s: float = 7.0
    """The leader exits when it could not renew the Lease for this long."""
    leader_retry_period_s: float = 1.0
    """Time between attempts to acquire or renew the Lease."""
    cluster_profiles: bool = True
    """Publish Ready identifiers as ClusterProfiles (multicluster.x-k8s.io) while the hub has that CRD."""
    cluster_profile_namespace: str = ""
    """Namespace of the published ClusterProfiles; empty means `namespace`."""
    cluster_manager_name: str = "computenet"
    """This operator's name as a cluster manager: spec.clusterManager.name and the x-k8s.io/cluster-manager label."""
    cluster_profile_provider_file: str = ""
    """The Cluster Inventory API's access-provider file (JSON); set, another manager's ClusterProfiles are imported."""
    cluster_profile_import_namespace: str = ""
    """Namespace whose ClusterProfiles are imported; empty means `cluster_profile_namespace`, else `namespace`."""

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        for f in fields(cls):
            flag = "--" + f.name.replace("_", "-")
            env = ENV_PREFIX + f.name.upper()
            default = getattr(cls, f.name)
            help_ = f"(env {env}, default {default!r})"
            if isinstance(default, bool):
                parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_)
            else:
                parser.add_argument(flag, type=type(default), default=None, help=help_)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        """Settings from parsed flags and the environment; raises SettingsError naming a bad variable."""
        values: dict[str, object] = {}
        for f in fields(cls):
            given = getattr(args, f.name, None)
            name = ENV_PREFIX + f.name.upper()
            env = os.environ.get(name)
            if given is not None:
                values[f.name] = given
            elif env is not None:
                values[f.name] = _parse(name, env, type(getattr(cls, f.name)))
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError for values the operator cannot run with."""
        if self.leader_elect:
            try:
                self.leader_timing()
                check_identity(self.identity())
            except ElectionConfigError as e:
                raise SettingsError(
                    f"leader election (--leader-lease-duration-s {self.leader_lease_duration_s}, "
                    f"--leader-renew-deadline-s {self.leader_renew_deadline_s}, "
                    f"--leader-retry-period-s {self.leader_retry_period_s}): {e}"
                ) from None
            if not self.leader_lease_name:
                raise SettingsError("--leader-lease-name must not be empty")
        if self.identifier_status_writes_per_s <= 0:
            raise SettingsError(
                f"--identifier-status-writes-per-s {self.identifier_status_writes_per_s}: must be more than 0"
            )
        if self.identifier_status_refresh_s <= 0:
            raise SettingsError(
                f"--identifier-status-refresh-s {self.identifier_status_refresh_s}: must be more than 0"
            )
        if self.cluster_profiles and not self.cluster_manager_name:
            raise SettingsError("--cluster-manager-name must not be empty while --cluster-profiles is on")

    def leader_timing(self) -> Timing:
        return Timing(self.leader_lease_duration_s, self.leader_renew_deadline_s, self.leader_retry_period_s)

    def identity(self) -> str:
        """The holder identity: `leader_identity`, else `<hostname>_<pid>` (the pod name in a pod)."""
        return self.leader_identity or f"{socket.gethostname()}_{os.getpid()}"


def _parse(name: str, raw: str, kind: type) -> object:
    if kind is bool:
        word = raw.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise SettingsError(f"{name}={raw!r}: expected true or false")
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected {kind.__name__}") from None
