"""Printing like kubectl: an aligned table by default, ``-o wide`` with more columns, json or yaml.

A verb hands over its rows (dicts of printable values) and the structured document behind them;
the table shows the first, json and yaml print the second as is, so scripts get every field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

FORMATS = ("table", "wide", "json", "yaml")
PADDING = 3
"""Spaces between columns, as kubectl's tabwriter prints them."""
NONE = "<none>"


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    wide: bool = False
    """Shown only with ``-o wide``."""


def cell(value: Any) -> str:
    if value is None or value == "":
        return NONE
    if isinstance(value, float):
        return f"{value:.1f}" if value != int(value) or abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], wide: bool) -> str:
    shown = [c for c in columns if wide or not c.wide]
    lines = [[c.header for c in shown], *([cell(row.get(c.key)) for c in shown] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(shown))]
    return "\n".join(
        (" " * PADDING).join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def emit(
    out: TextIO,
    fmt: str,
    document: Any,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    footer: str = "",
) -> None:
    """Print `document` (json, yaml) or `rows` under `columns` (table, wide), then `footer` for tables."""
    if fmt == "json":
        out.write(json.dumps(document, indent=2, sort_keys=False) + "\n")
    elif fmt == "yaml":
        out.write(yaml.safe_dump(document, sort_keys=False))
    else:
        out.write(table(rows, columns, wide=fmt == "wide") + "\n")
        if footer:
            out.write(footer + "\n")
