"""``computenet agent``: run the member agent (pull mode) inside a member cluster.

    computenet agent --hub-kubeconfig hub.kubeconfig --namespace provider-a --name gpu-east-1

The member is reached in-cluster (or through ``--kubeconfig``); the hub through a credential
limited to the provider's namespace. With ``--bootstrap-kubeconfig`` the agent first registers
(a ComputeAgent the bootstrap credential may create), waits for an administrator's approval, and
writes the credential the hub issues to ``--hub-kubeconfig``; later starts use that file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from computenet.agent.kinds import BUILT_IN, AgentKinds, parse_workload_kinds
from computenet.agent.run import Agent, AgentTiming
from computenet.hub import connect

__all__ = ["add_arguments", "main"]


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"COMPUTENET_AGENT_{name}", default)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub-kubeconfig", default=_env("HUB_KUBECONFIG"), help="credential for the hub")
    parser.add_argument(
        "--bootstrap-kubeconfig",
        default=_env("BOOTSTRAP_KUBECONFIG"),
        help="bootstrap credential: register, wait for approval, then write the issued one to --hub-kubeconfig",
    )
    parser.add_argument("--kubeconfig", default=_env("KUBECONFIG"), help="the member cluster (default: in-cluster)")
    parser.add_argument("--namespace", default=_env("NAMESPACE"), help="the provider's namespace on the hub")
    parser.add_argument("--name", default=_env("NAME"), help="the agent's name (its ComputeAgent and Lease)")
    parser.add_argument("--cluster", default=_env("CLUSTER"), help="the member cluster's name, for the registration")
    t = AgentTiming()
    parser.add_argument(
        "--report-interval", type=float, default=float(_env("REPORT_INTERVAL_S", str(t.report_interval_s)))
    )
    parser.add_argument("--lease-duration", type=int, default=int(_env("LEASE_DURATION_S", str(t.lease_duration_s))))
    parser.add_argument(
        "--renew-interval", type=float, default=float(_env("RENEW_INTERVAL_S", str(t.renew_interval_s)))
    )
    parser.add_argument(
        "--workload-kinds",
        default=_env("WORKLOAD_KINDS"),
        help="comma-separated kinds run besides batch/v1 Jobs: any of "
        + ", ".join(sorted(BUILT_IN))
        + ", and kinds declared on the hub as <plural>.<group> (trainjobs.trainer.kubeflow.org)",
    )
    parser.add_argument(
        "--dependency-secrets",
        action=argparse.BooleanOptionalAction,
        default=_env("DEPENDENCY_SECRETS", "false").lower() == "true",
        help="create the Secrets a task names in the member (the agent's identity may write Secrets)",
    )
    parser.add_argument("--log-level", default=_env("LOG_LEVEL", "info"))


def workload_kinds(value: str, secrets: bool = False) -> AgentKinds:
    """What ``--workload-kinds`` (``"Deployment,trainjobs.trainer.kubeflow.org"``) and ``--dependency-secrets`` enable.

    Raises ValueError naming an entry that is neither a built-in kind nor ``<plural>.<group>``.
    """
    built_in, declared = parse_workload_kinds(value)
    return AgentKinds(built_in, declared, secrets)


async def _main(args: argparse.Namespace, registered: bool) -> None:
    hub_kubeconfig = args.hub_kubeconfig
    if args.bootstrap_kubeconfig and not registered:
        from computenet.agent.register import register

        await register(args.bootstrap_kubeconfig, hub_kubeconfig, args.namespace, args.name, args.cluster or None)
    hub = await connect(hub_kubeconfig)
    member = await connect(args.kubeconfig)
    timing = AgentTiming(args.report_interval, args.lease_duration, args.renew_interval)
    kinds = workload_kinds(args.workload_kinds, args.dependency_secrets)
    try:
        await Agent(hub, member, args.namespace, args.name, timing, kinds=kinds).run()
    finally:
        await hub.close()  # type: ignore[no-untyped-call]
        await member.close()  # type: ignore[no-untyped-call]


def main(args: argparse.Namespace, error: object) -> None:
    """Run the agent until killed; `error(message)` reports a bad command line (argparse's parser.error)."""
    missing = [flag for flag, value in (("--namespace", args.namespace), ("--name", args.name)) if not value]
    if not args.hub_kubeconfig:
        missing.append("--hub-kubeconfig")
    if missing:
        error(f"computenet agent needs {', '.join(missing)}")  # type: ignore[operator]
        return
    try:
        workload_kinds(args.workload_kinds)
    except ValueError as e:
        error(str(e))  # type: ignore[operator]
        return
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    asyncio.run(_main(args, registered=os.path.exists(args.hub_kubeconfig)))
