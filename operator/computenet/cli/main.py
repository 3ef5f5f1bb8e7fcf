"""The ``kubectl-computenet`` command: parse the verb, run it, turn failures into exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from computenet.cli import offers as offers_verb
from computenet.cli import why as why_verb
from computenet.cli.errors import OK, CliError
from computenet.cli.hub import Hub
from computenet.cli.output import FORMATS, emit

PROG = "kubectl computenet"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", help="Path to the kubeconfig (default: $KUBECONFIG or ~/.kube/config).")
    parser.add_argument("--context", help="The kubeconfig context to use.")
    parser.add_argument("-n", "--namespace", help="Namespace of the task (default: the context's namespace).")


def _output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=FORMATS, default="table", help="Output format (default: table).")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=PROG, description="Use the computenet pool as if it were local.")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")

    why = verbs.add_parser("why", help="Every identifier's verdict for a task, scores side by side.")
    why.add_argument("task", help="Name of the ComputeTask.")
    _common(why)
    _output(why)

    offers = verbs.add_parser("offers", help="The offers of a suspended task, best first.")
    offers.add_argument("task", help="Name of the ComputeTask.")
    _common(offers)
    _output(offers)

    accept = verbs.add_parser("accept", help="Run a suspended task on one of its offers (default: the best).")
    accept.add_argument("task", help="Name of the ComputeTask.")
    accept.add_argument("identifier", nargs="?", help="The offer's identifier (default: the best offer).")
    _common(accept)
    return top


Verb = Callable[[argparse.Namespace, TextIO], int]


def run_why(args: argparse.Namespace, out: TextIO) -> int:
    hub = Hub.connect(args.kubeconfig, args.context, args.namespace)
    doc = why_verb.explain(hub.task(args.task))
    rows, columns = why_verb.table_rows(doc)
    emit(out, args.output, doc, rows, columns, why_verb.footer(doc))
    return OK


def run_offers(args: argparse.Namespace, out: TextIO) -> int:
    hub = Hub.connect(args.kubeconfig, args.context, args.namespace)
    task = hub.task(args.task)
    found = offers_verb.offers_of(task)
    if not found and args.output in ("table", "wide"):
        sys.stderr.write(offers_verb.no_offers(task) + "\n")
        return OK
    rows = offers_verb.rows(found)
    emit(out, args.output, {"offers": rows}, rows, offers_verb.COLUMNS)
    return OK


def run_accept(args: argparse.Namespace, out: TextIO) -> int:
    hub = Hub.connect(args.kubeconfig, args.context, args.namespace)
    offer = offers_verb.choose(hub.task(args.task), args.identifier)
    hub.patch_task(args.task, offers_verb.accept_patch(offer))
    out.write(f"computetask.computenet.io/{args.task} accepted offer {offer.identifier}\n")
    return OK


VERBS: dict[str, Verb] = {"why": run_why, "offers": run_offers, "accept": run_accept}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one verb; returns the exit code (0 done, 1 error, 2 usage; argparse exits 2 itself)."""
    args = parser().parse_args(argv)
    try:
        return VERBS[args.verb](args, out or sys.stdout)
    except CliError as e:
        sys.stderr.write(f"error: {e}\n")
        return e.exit_code
    except KeyboardInterrupt:
        return 130
