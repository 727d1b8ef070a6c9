"""Hypothesis strategies: item pools over a realistic element tree, and blueprints for them."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from exam.papers.assembly import BlueprintSpec, PoolItem, Section

CHOICE = ("single", "multiple")
OBJECTIVE = ("single", "multiple", "true_false")


@st.composite
def trees(draw):
    """``(points, weights)``: points as ``(code, area_path, importance)``; weights per area."""
    points = []
    weights: dict[str, Decimal] = {}
    tops = draw(st.integers(1, 3))
    top_weights = _split(draw, 100, tops)
    for a in range(1, tops + 1):
        weights[str(a)] = Decimal(top_weights[a - 1])
        subs = draw(st.integers(1, 3))
        with_sub_weights = draw(st.booleans()) and top_weights[a - 1] >= subs
        sub_weights = _split(draw, top_weights[a - 1], subs) if with_sub_weights else []
        for b in range(1, subs + 1):
            if with_sub_weights:
                weights[f"{a}.{b}"] = Decimal(sub_weights[b - 1])
            for c in range(1, draw(st.integers(1, 4)) + 1):
                importance = draw(st.sampled_from("XYYZ"))
                points.append((f"{a}.{b}.{c}", (str(a), f"{a}.{b}"), importance))
    return points, weights


def _split(draw, total: int, parts: int) -> list[int]:
    """``parts`` positive integers adding up to ``total`` (total ≥ parts)."""
    if parts == 1:
        return [total]
    cuts = sorted(draw(st.lists(st.integers(1, total - 1), min_size=parts - 1, max_size=parts - 1,
                                unique=True)))
    edges = [0] + cuts + [total]
    return [edges[i + 1] - edges[i] for i in range(parts)]


@st.composite
def pools(draw, types=OBJECTIVE, max_per_point=5, min_per_point=0):
    points, weights = draw(trees())
    items = []
    version = 1000
    for code, path, importance in points:
        for qtype in types:
            for _ in range(draw(st.integers(min_per_point, max_per_point))):
                version += draw(st.integers(1, 3))
                if qtype in CHOICE:
                    keys = tuple("ABCDEF"[: draw(st.integers(2, 5))])
                    pinned = frozenset(keys[-1:]) if draw(st.booleans()) else frozenset()
                else:
                    keys, pinned = (), frozenset()
                items.append(PoolItem(version, version // 2, qtype, code, path, importance,
                                      draw(st.integers(1, 5)), keys, pinned))
    draw(st.randoms(use_true_random=False)).shuffle(items)  # order must not matter
    return items, weights


@st.composite
def specs(draw, types=OBJECTIVE):
    chosen = draw(st.lists(st.sampled_from(types), min_size=1, max_size=len(types), unique=True))
    sections = tuple(Section(t, draw(st.integers(1, 12)), draw(st.sampled_from(["0.5", "1", "2"])))
                     for t in chosen)
    total = sum((s.total for s in sections), Decimal(0))
    mix = None
    if draw(st.booleans()):
        mix = dict(zip((1, 2, 3, 4, 5), (Decimal(x) for x in _split(draw, 100, 5))))
        if draw(st.booleans()):  # some difficulties left out
            mix = {1: Decimal(20), 3: Decimal(60), 5: Decimal(20)}
    return BlueprintSpec(sections=sections, difficulty_mix=mix, cover_all_x=draw(st.booleans()),
                         shuffle_items=draw(st.booleans()), shuffle_options=draw(st.booleans()),
                         total_points=total)
