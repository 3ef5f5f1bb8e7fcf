"""The `computenet` command: `computenet run` starts the operator against the hub."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from computenet import __version__
from computenet.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="computenet",
        description="Federate many Kubernetes clusters into one compute pool: find, dispatch, meter.",
    )
    parser.add_argument("--version", action="version", version=f"computenet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the operator against the hub cluster")
    Settings.add_arguments(run)
    return parser


def run(settings: Settings) -> None:
    import kopf

    import computenet.handlers  # noqa: F401  (registers the handlers)

    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(
        kopf.operator(
            clusterwide=True,
            standalone=True,
            memo=kopf.Memo(settings=settings),
            liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz",
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        run(Settings.from_args(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
