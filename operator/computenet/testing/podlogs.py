"""What the simulated members' containers print, and the kwok configuration that serves it.

A member's nodes are kwok's, so no kubelet runs a container; kwok v0.8.0 instead serves the
kubelet's `/containerLogs/{namespace}/{pod}/{container}` itself (`pkg/kwok/server/debugging.go`,
`InstallDebuggingHandlers`) from `ClusterLogs` resources given in its `--config`
(`pkg/kwok/server/debugging_logs.go`, `getPodLogs`): the log of every container is one file on
disk, in the container runtime's (CRI) log format, read by `k8s.io/cri-client/pkg/logs.ReadLogs`.
With `follow=true` that reader keeps the stream open waiting for more lines, since kwok's stub
runtime answers `Unavailable`, which the reader takes as "the container still runs". So
`kubectl logs POD` on a member prints `LINES`, and `kubectl logs -f POD` prints them and stays open
until the client leaves.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

LINES = (
    "computenet simulated container: started",
    "computenet simulated container: working",
    "computenet simulated container: still working",
)
"""The log lines every container on a member shows, in order."""

LOG_FILE = "container.log"
CONFIG_FILE = "kwok-logs.yaml"


def cri_log(lines: tuple[str, ...], at: dt.datetime) -> str:
    """`lines` as a CRI log file: one `<RFC 3339 nano time> stdout F <line>` record per line.

    The format is the one kubelet's runtime writes and `k8s.io/cri-client/pkg/logs` parses
    (`parseCRILog`): timestamp, stream, the tag `F` (a full line, not a partial one), the text.
    """
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
    return "".join(f"{stamp} stdout F {line}\n" for line in lines)


def cluster_logs(log_file: Path) -> dict[str, object]:
    """A kwok `ClusterLogs` (kwok.x-k8s.io/v1alpha1) serving `log_file` for every container of every pod.

    No selector matches every pod (`ObjectSelector.Match` of a nil selector); a log entry without
    containers is the default for all of them (`findLogInLogs`).
    """
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "ClusterLogs",
        "metadata": {"name": "computenet-simulated-containers"},
        "spec": {"logs": [{"logsFile": str(log_file), "follow": True}]},
    }


def write(directory: Path, now: dt.datetime | None = None) -> Path:
    """Write the log file and the `ClusterLogs` config into `directory`; returns the config's path."""
    directory.mkdir(parents=True, exist_ok=True)
    log_file = directory / LOG_FILE
    log_file.write_text(cri_log(LINES, now or dt.datetime.now(dt.UTC)))
    config = directory / CONFIG_FILE
    config.write_text(yaml.safe_dump(cluster_logs(log_file.resolve()), sort_keys=False))
    return config
