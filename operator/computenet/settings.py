"""Operator settings, from flags first, then `COMPUTENET_*` environment variables, then defaults.

The Helm chart sets the environment; a developer running `computenet run` locally uses flags.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields

ENV_PREFIX = "COMPUTENET_"


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
    log_level: str = "INFO"
    status_coalesce_s: float = 0.5
    """Status writes for one object are at most this often; changes in between are merged."""
    sweep_interval_s: float = 60.0
    """How often remote Jobs whose task is gone are looked for and removed."""
    heartbeat_refresh_s: float = 30.0
    """An unchanged identifier's status is rewritten this often, to refresh its last heartbeat."""

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        for f in fields(cls):
            flag = "--" + f.name.replace("_", "-")
            env = ENV_PREFIX + f.name.upper()
            default = getattr(cls, f.name)
            parser.add_argument(flag, type=type(default), default=None, help=f"(env {env}, default {default!r})")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        values: dict[str, object] = {}
        for f in fields(cls):
            given = getattr(args, f.name, None)
            env = os.environ.get(ENV_PREFIX + f.name.upper())
            if given is not None:
                values[f.name] = given
            elif env is not None:
                values[f.name] = type(getattr(cls, f.name))(env)
        return cls(**values)  # type: ignore[arg-type]
