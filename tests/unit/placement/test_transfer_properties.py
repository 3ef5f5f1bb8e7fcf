"""Property: the vectorised transfer figures equal a plain per-identifier reading of the rules.

The oracle walks one identifier and one piece at a time, as `transfer`'s docstring states the rules:
nothing moves where the region holds a copy; otherwise the copy nearest by the identifier's latency
(ties and unknowns by region name) is moved, at min(its bandwidth, the source region's best), for
the egress price of the source region's first store by name. It also checks that an identifier's figures do not
depend on which other identifiers are asked about alongside it.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computenet.placement import Data, DataPiece, Identifier, Network, Pricing, SnapshotBuilder, Store
from computenet.placement.resources import GIB
from computenet.placement.transfer import moves

REGIONS = ("r0", "r1", "r2", "r3")
"""r3 is where no identifier is and none states a latency to: a region placement does not know."""


@st.composite
def identifiers(draw: st.DrawFn) -> list[Identifier]:
    out = []
    for k in range(draw(st.integers(1, 6))):
        latency = {r: draw(st.sampled_from([5.0, 30.0, 30.0, 90.0])) for r in REGIONS[:3] if draw(st.booleans())}
        store = None
        if draw(st.booleans()):
            store = Store(draw(st.sampled_from([0.0, 0.02, 0.08, 0.12])), draw(st.sampled_from(["USD", "USD", "EUR"])))
        out.append(
            Identifier(
                name=f"i{k}",
                cluster=f"c{k}",
                region=draw(st.sampled_from(REGIONS[:3])),
                pricing=Pricing("USD"),
                network=Network(latency, draw(st.sampled_from([None, 1.0, 10.0, 40.0]))),
                store=store,
            )
        )
    return out


pieces = st.lists(
    st.builds(
        DataPiece,
        st.sampled_from([0, GIB, 7 * GIB, 123_456_789]),
        st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3).map(tuple),
    ),
    min_size=1,
    max_size=3,
).map(tuple)


def oracle(idents: list[Identifier], me: Identifier, data: Data) -> tuple[float, float, float]:
    moved = seconds = cost = 0.0
    currencies: set[str] = set()
    for piece in data.located():
        if me.region in piece.regions:
            continue
        names = sorted(set(piece.regions))
        source = min(names, key=lambda r: (me.network.latency_ms.get(r, math.inf), names.index(r)))
        there = [i for i in idents if i.region == source]
        far = [i.network.bandwidth_gbps for i in there if i.network.bandwidth_gbps is not None]
        own = me.network.bandwidth_gbps
        gbps = math.nan if own is None else min(own, max(far)) if far else own
        seconds += piece.size_bytes * 8 / (gbps * 1e9)
        stores = sorted((i.name, i.store.egress_per_gib, i.store.currency) for i in there if i.store is not None)
        if stores:  # the region's store: its first identifier by name that declares one
            cost += piece.size_bytes / GIB * stores[0][1]
            currencies.add(stores[0][2])
        else:
            cost = math.nan
        moved += piece.size_bytes
    return moved, seconds, math.nan if len(currencies) > 1 else cost


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(identifiers(), pieces, st.data())
def test_figures_agree_with_the_oracle_and_with_themselves_alone(
    idents: list[Identifier], located: tuple[DataPiece, ...], draw: st.DataObject
) -> None:
    builder = SnapshotBuilder()
    for ident in idents:
        builder.upsert_identifier(ident)
    snapshot = builder.snapshot()
    data = Data("", 0, located)
    everyone = moves(snapshot, data)
    some = np.array(sorted(draw.draw(st.sets(st.integers(0, len(idents) - 1), min_size=1))), dtype=np.int64)
    alone = moves(snapshot, data, some)
    for at, i in enumerate(some.tolist()):
        expected = oracle(idents, snapshot.identifiers[i], data)
        got = (float(everyone.bytes[i]), float(everyone.seconds[i]), float(everyone.cost[i]))
        assert np.allclose(got, expected, equal_nan=True), (snapshot.identifiers[i].name, got, expected)
        assert np.allclose((alone.bytes[at], alone.seconds[at], alone.cost[at]), got, equal_nan=True)
