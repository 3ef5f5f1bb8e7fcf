"""The `computenet` command: `computenet run` starts the operator, `computenet agent` the member agent.

`computenet stage` moves a task's data (see :mod:`computenet.data`).

The agent is pull mode's (see :mod:`computenet.agent`); the rest of this page is about the operator.

With leader election (the default) the process first campaigns for the hub Lease and serves only
health and `computenet_leader 0` while it stands by; it starts kopf and the operator's work once it
holds the Lease. Losing the Lease ends the process at once with exit code 3 (`EXIT_LEASE_LOST`), so
nothing it does can overlap the next leader; Kubernetes restarts it as a standby. On SIGTERM the
leader stops its work first and then releases the Lease, so a standby takes over without waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from computenet import __version__
from computenet.settings import Settings, SettingsError

EXIT_LEASE_LOST = 3
logger = logging.getLogger("computenet")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="computenet",
        description="Federate many Kubernetes clusters into one compute pool: find, dispatch, meter.",
    )
    parser.add_argument("--version", action="version", version=f"computenet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the operator against the hub cluster")
    Settings.add_arguments(run)
    from computenet.agent.cli import add_arguments

    add_arguments(sub.add_parser("agent", help="run the member agent (pull mode) inside a member cluster"))
    from computenet.data import cli as stage

    stage.add_arguments(sub.add_parser("stage", help="move a task's data: copy between stores, fetch into a path"))
    return parser


def _exit_now(reason: str) -> None:
    """Leadership is over: stop this instant, without cleanup that could still write to the hub."""
    logger.critical("%s; exiting (code %d) so the next leader never overlaps this one", reason, EXIT_LEASE_LOST)
    logging.shutdown()
    os._exit(EXIT_LEASE_LOST)


def _load_operator() -> None:
    """Import kopf and register the handlers (the heavy part of starting: seconds on a busy node)."""
    import_module("computenet.handlers")


async def _kopf(settings: Settings) -> None:
    import kopf

    await kopf.operator(
        clusterwide=True,
        standalone=True,
        memo=kopf.Memo(settings=settings),
        liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz",
    )


async def _operate(settings: Settings) -> None:
    if not settings.leader_elect:
        _load_operator()
        await _kopf(settings)
        return
    from computenet.leader.standby import STANDBY, STARTING, standby_endpoints

    loaded = False
    leadership = None

    def state() -> str:
        return STANDBY if loaded and leadership is not None and leadership.campaigning else STARTING

    # Health answers before the heavy imports, which run on a worker thread meanwhile.
    async with standby_endpoints(settings.health_port, settings.metrics_port, state):
        await asyncio.to_thread(import_module, "computenet.leader.guard")
        from computenet.leader.guard import Leadership, LeaseSettings

        lease = LeaseSettings(
            settings.kubeconfig,
            settings.namespace,
            settings.leader_lease_name,
            settings.identity(),
            settings.leader_timing(),
        )
        leadership = Leadership(lease, on_lost=_exit_now)
        leadership.start()
        await asyncio.to_thread(_load_operator)
        loaded = True
        await leadership.acquired()
    logger.info("%s leads (Lease %s/%s): starting the operator", lease.identity, lease.namespace, lease.name)
    await _kopf(settings)
    # kopf returned after its cleanup handlers stopped every worker: nothing guarded still runs, so
    # the standby may take over now. Had kopf failed instead, the Lease simply runs out.
    leadership.release()


def run(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(_operate(settings))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        try:
            settings = Settings.from_args(args)
        except SettingsError as e:
            parser.error(str(e))
        run(settings)
    elif args.command == "agent":
        from computenet.agent.cli import main as agent_main

        agent_main(args, parser.error)
    elif args.command == "stage":
        from computenet.data.cli import main as stage_main

        return stage_main(args, parser.error)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
