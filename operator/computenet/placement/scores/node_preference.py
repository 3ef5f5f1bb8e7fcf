"""NodeAffinity: identifiers whose nodes match the pod's preferred node affinity score higher.

kube-scheduler scores a node by the sum of the weights (1-100) of the pod's
`preferredDuringSchedulingIgnoredDuringExecution` terms it matches (`PreferredSchedulingTerms.Score`
in k8s.io/component-helpers@v0.36.3 `scheduling/corev1/nodeaffinity/nodeaffinity.go`, ported in
`affinity`). An identifier is scored by its best node that could hold a replica: a node of the
model the gang would run on, admitted by the nodeSelector and required affinity, with room for
at least one replica after assumptions. That is where the member's own scheduler, which
prefers the same terms, will put the pods.

Normalization: 100 x best node's sum / the sum of all terms' weights, so matching every
preferred term scores 100 and matching none 0. Absolute, like Locality, rather than upstream's
`DefaultNormalizeScore` (relative to the best node on offer): "how much of what the pod prefers
this identifier has" then weighs the same against price or locality whatever else is on offer.
Applies only when the pod has preferred terms that parse; if any does not, kube-scheduler
refuses them all, and so does this score (the decision names them as not evaluated).
"""

from __future__ import annotations

import numpy as np

from computenet.placement import fit
from computenet.placement.affinity_columns import weighted
from computenet.placement.arrays import FloatArray, IntArray, group_max
from computenet.placement.context import Context


class NodePreference:
    name = "NodeAffinity"
    weight = "affinity"

    def applies(self, ctx: Context) -> bool:
        return ctx.preferred.total_weight > 0

    def score(self, ctx: Context, ids: IntArray) -> FloatArray:
        fit.ensure(ctx, ids)
        entries, pos, column = fit.usable_entries(ctx, ids)
        on_model = ctx.columns[column] == ctx.fit_model[ids[pos]]
        entries, pos = entries[on_model], pos[on_model]
        rows, seg, slots = fit.scan(ctx, entries)
        room = slots > 0
        rows, owner = rows[room], pos[seg[room]]
        best = group_max(owner, weighted(ctx.snapshot, ctx.preferred_columns, rows), len(ids))
        return np.asarray(100.0 * best / ctx.preferred.total_weight, dtype=np.float64)
