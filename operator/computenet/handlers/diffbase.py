"""Where kopf keeps the last handled spec of our objects: an annotation, bound to the object's UID.

kopf decides that an object is new when it finds no last-handled configuration on it, and runs the
creation handlers; otherwise it runs the update handlers for the difference, or none
(kopf 1.45, ``AnnotationsDiffBaseStorage``). That annotation is part of the object, so a copy made
with ``kubectl get -o yaml`` (a backup, a GitOps export, a Velero restore) carries it: created again
from the copy, the object looked already handled, and no handler ever ran for it (no status, no
condition). Storing the UID of the object the configuration was handled for beside it tells a copy
apart: a UID that is not the object's own means nothing of it was handled yet.
"""

from __future__ import annotations

from collections.abc import Iterable

import kopf

__all__ = ["UidBoundDiffBaseStorage"]


class UidBoundDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """kopf's annotations diff-base storage, whose last-handled configuration holds for one object only.

    The UID it was handled for is kept in ``<prefix>/last-handled-uid``. An object without that
    annotation (handled by an earlier version of the operator) keeps its configuration.
    """

    def __init__(self, *, prefix: str, key: str) -> None:
        super().__init__(prefix=prefix, key=key)
        self.uid_key = f"{prefix}/last-handled-uid"

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        handled_for = body.metadata.annotations.get(self.uid_key)
        if handled_for is not None and handled_for != body.metadata.uid:
            return None  # a copy of another object: handle this one as new
        return super().fetch(body=body)

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        super().store(body=body, patch=patch, essence=essence)
        if body.metadata.uid:
            patch.metadata.annotations[self.uid_key] = body.metadata.uid

    def build(self, *, body: kopf.Body, extra_fields: Iterable[kopf.FieldSpec] | None = None) -> kopf.BodyEssence:
        essence = super().build(body=body, extra_fields=extra_fields)
        self.remove_annotations(essence, {self.uid_key})
        return essence
