"""Which edits of a dispatched task's spec the API server let through that the running attempt cannot take in.

The CRD refuses such edits at apply time (``EDITS_AFTER_DISPATCH`` in ``api/task.py``), with two gaps
the operator closes itself: an edit that lands while the hub still says Pending but the operator has
already placed the task (the Dispatching write follows the decision by milliseconds), and a template
edit CEL cannot see (an untyped key replaced by another at the same level, such as ``command`` by
``args``: k8s.io/apiserver@v0.36.3 pkg/cel/common/valuesunstructured.go, ``unstructuredMap.Equal``,
skips a key the other side lacks once the sizes match).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from computenet.api.task import EDITS_AFTER_DISPATCH, ComputeTaskSpec, EditVerdict

REFUSED_FIELDS = tuple(edit.field for edit in EDITS_AFTER_DISPATCH if edit.verdict == EditVerdict.REFUSED)
"""Spec fields (camelCase) a dispatched task must keep as they were."""


AS_WRITTEN = ("template", "workload")
"""Fields compared as the user wrote them (every key, typed or not), not as parsed."""


def workload_edits(
    old: ComputeTaskSpec,
    old_written: Mapping[str, Mapping[str, Any]],
    new: ComputeTaskSpec,
    new_written: Mapping[str, Mapping[str, Any]],
) -> tuple[str, ...]:
    """The refused fields that differ between two specs, in the spec's order (empty: nothing to carry out).

    ``*_written`` hold the ``AS_WRITTEN`` fields as written ({} when absent); the others are
    compared as parsed.
    """
    before, after = old.model_dump(by_alias=True), new.model_dump(by_alias=True)
    return tuple(
        field
        for field in REFUSED_FIELDS
        if (
            old_written.get(field, {}) != new_written.get(field, {})
            if field in AS_WRITTEN
            else before.get(field) != after.get(field)
        )
    )
