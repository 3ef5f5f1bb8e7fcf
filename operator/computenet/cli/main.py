"""The ``kubectl-computenet`` command: parse the verb, run it, turn failures into exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

import yaml

from computenet.cli import offers as offers_verb
from computenet.cli import simulate as simulate_verb
from computenet.cli import snapshots
from computenet.cli import top as top_verb
from computenet.cli import why as why_verb
from computenet.cli.endpoint import Endpoint
from computenet.cli.errors import OK, CliError
from computenet.cli.hub import Hub
from computenet.cli.output import FORMATS, emit
from computenet.snapshot_export import SnapshotDocument

PROG = "kubectl computenet"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", help="Path to the kubeconfig (default: $KUBECONFIG or ~/.kube/config).")
    parser.add_argument("--context", help="The kubeconfig context to use.")
    parser.add_argument("-n", "--namespace", help="Namespace of the task (default: the context's namespace).")


def _output(parser: argparse.ArgumentParser, structured: str = "every field") -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help=f"Output format (default: table; wide adds columns; json and yaml print {structured}).",
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=PROG, description="Use the computenet pool as if it were local.")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")

    why = verbs.add_parser("why", help="Every identifier's verdict for a task, scores side by side.")
    why.add_argument("task", help="Name of the ComputeTask.")
    why.add_argument(
        "--live", action="store_true", help="Ask placement again on the operator's live snapshot (a waiting task)."
    )
    _common(why)
    _endpoint(why)
    _output(why)

    offers = verbs.add_parser("offers", help="The offers of a suspended task, best first.")
    offers.add_argument("task", help="Name of the ComputeTask.")
    _common(offers)
    _output(offers)

    accept = verbs.add_parser("accept", help="Run a suspended task on one of its offers (default: the best).")
    accept.add_argument("task", help="Name of the ComputeTask.")
    accept.add_argument("identifier", nargs="?", help="The offer's identifier (default: the best offer).")
    _common(accept)
    _output(accept, "the accepted task as the hub returned it")

    logs = verbs.add_parser("logs", help="The pod logs of a task's Job, streamed from its member through the operator.")
    logs.add_argument("task", help="Name of the ComputeTask.")
    logs.add_argument("-f", "--follow", action="store_true", help="Keep streaming as the pod writes.")
    logs.add_argument("--replica", type=_whole, default=0, help="Which replica (completion index; default 0).")
    logs.add_argument("--role", help="Which role of a workload of several (a JobSet's replicated Job, leader, ...).")
    logs.add_argument("--attempt", type=_whole, help="Which dispatch attempt (default: the current one).")
    logs.add_argument("-c", "--container", help="Container of the pod (default: its only container).")
    _common(logs)
    _endpoint(logs)

    simulate = verbs.add_parser(
        "simulate",
        help="Where tasks would go and what would wait, on the live or a saved snapshot; dispatches nothing.",
    )
    simulate.add_argument(
        "-f", "--filename", required=True, help="ComputeTasks (YAML, several documents; - for stdin)."
    )
    simulate.add_argument(
        "--snapshot", help="A saved snapshot (from `kubectl computenet snapshot`) instead of the live one."
    )
    _common(simulate)
    _endpoint(simulate)
    _output(simulate)

    top_ = verbs.add_parser("top", help="Capacity, allocated and free per pool, region, and resource or model.")
    top_.add_argument("--snapshot", help="A saved snapshot instead of the live one.")
    _common(top_)
    _endpoint(top_)
    _output(top_)

    snapshot = verbs.add_parser("snapshot", help="Print the operator's live placement snapshot, to save it.")
    snapshot.add_argument(
        "-o", "--output", choices=("json", "yaml"), default="json", help="Output format (default: json)."
    )
    _common(snapshot)
    _endpoint(snapshot)
    return top


def _whole(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}")
    return int(text)


def _endpoint(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        help="The operator's HTTPS endpoint, such as https://127.0.0.1:8443 "
        "(env COMPUTENET_ENDPOINT; default: through the hub's service proxy).",
    )
    parser.add_argument("--ca-file", help="CA certificate that signed the endpoint's (env COMPUTENET_CA_FILE).")
    parser.add_argument(
        "--operator-namespace",
        help="Namespace of the operator's Service (env COMPUTENET_OPERATOR_NAMESPACE; default computenet-system).",
    )


Verb = Callable[[argparse.Namespace, TextIO], int]


def run_why(args: argparse.Namespace, out: TextIO) -> int:
    hub, endpoint = _connect(args)
    task = hub.task(args.task)
    doc = why_verb.explain(task)
    if args.live:
        namespace = task.get("metadata", {}).get("namespace") or hub.namespace
        datasets, note = [], ""
        if why_verb.names_datasets(task):  # read only when the task needs them (list computedatasets)
            try:
                datasets = hub.datasets(namespace)
            except CliError as e:  # the what-if still runs, its datasets counted where spec.data.region says
                note = f"ComputeDatasets of {namespace} not read: {e}"
        doc = why_verb.relive(doc, task, snapshots.live(endpoint), datasets, note)
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
    emit(out, args.output, {"offers": rows}, rows, offers_verb.columns(rows))
    return OK


def run_accept(args: argparse.Namespace, out: TextIO) -> int:
    hub = Hub.connect(args.kubeconfig, args.context, args.namespace)
    offer = offers_verb.choose(hub.task(args.task), args.identifier)
    patched = hub.patch_task(args.task, offers_verb.accept_patch(offer))
    if args.output in ("json", "yaml"):
        emit(out, args.output, patched, [], ())
    else:
        out.write(f"computetask.computenet.io/{args.task} accepted offer {offer.identifier}\n")
    return OK


def _connect(args: argparse.Namespace) -> tuple[Hub, Endpoint]:
    hub = Hub.connect(args.kubeconfig, args.context, args.namespace)
    return hub, Endpoint.of(hub, args.endpoint, args.ca_file, args.operator_namespace)


def _snapshot(args: argparse.Namespace) -> SnapshotDocument:
    if args.snapshot:
        return snapshots.load(args.snapshot)
    return snapshots.live(_connect(args)[1])


def run_logs(args: argparse.Namespace, out: TextIO) -> int:
    hub, endpoint = _connect(args)
    query = {"follow": "true" if args.follow else "false", "replica": str(args.replica)}
    if args.attempt is not None:
        query["attempt"] = str(args.attempt)
    if args.role:
        query["role"] = args.role
    if args.container:
        query["container"] = args.container
    for chunk in endpoint.stream(f"/logs/{hub.namespace}/{args.task}", query, args.follow):
        out.write(chunk.decode("utf-8", "replace"))
        out.flush()
    return OK


def run_simulate(args: argparse.Namespace, out: TextIO) -> int:
    namespace = args.namespace or "default"
    stdin = sys.stdin.read() if args.filename == "-" else None
    tasks, datasets = simulate_verb.read_objects(args.filename, stdin)
    if not args.snapshot:
        namespace = Hub.connect(args.kubeconfig, args.context, args.namespace).namespace
    doc = simulate_verb.simulate(tasks, _snapshot(args), namespace, datasets)
    rows = simulate_verb.table_rows(doc)
    emit(out, args.output, doc, rows, simulate_verb.COLUMNS, simulate_verb.footer(doc))
    return OK


def run_top(args: argparse.Namespace, out: TextIO) -> int:
    doc = top_verb.top(_snapshot(args))
    emit(out, args.output, doc, doc["rows"], top_verb.COLUMNS)
    return OK


def run_snapshot(args: argparse.Namespace, out: TextIO) -> int:
    doc = snapshots.live(_connect(args)[1])
    if args.output == "yaml":
        out.write(yaml.safe_dump(doc.model_dump(mode="json", by_alias=True), sort_keys=False))
    else:
        out.write(doc.model_dump_json(by_alias=True, indent=2) + "\n")
    return OK


VERBS: dict[str, Verb] = {
    "why": run_why,
    "offers": run_offers,
    "accept": run_accept,
    "logs": run_logs,
    "simulate": run_simulate,
    "top": run_top,
    "snapshot": run_snapshot,
}


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
