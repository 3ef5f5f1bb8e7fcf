"""Where `simulate` and `top` get the pool from: the operator's live snapshot, or a saved file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from computenet.cli.endpoint import Endpoint
from computenet.cli.errors import CliError
from computenet.snapshot_export import SnapshotDocument


def load(path: str) -> SnapshotDocument:
    """A saved snapshot (JSON or YAML, as ``kubectl computenet snapshot`` prints it)."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise CliError(f"cannot read the snapshot {path}: {e}") from e
    try:
        return SnapshotDocument.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CliError(f"{path} is not a PlacementSnapshot: {where}: {first['msg']}") from e


def live(endpoint: Endpoint) -> SnapshotDocument:
    try:
        return SnapshotDocument.model_validate(endpoint.json("/snapshot"))
    except ValidationError as e:
        raise CliError(f"the operator's snapshot is not one this plugin reads: {e.errors()[0]['msg']}") from e
