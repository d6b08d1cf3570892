"""Orlando & Thissen's (2000, 2003) summed-score item fit S-X² for complete data.

Students are grouped by their number-correct score ``s`` on all ``J`` items.  With θ ~ N(0, 1) on a
quadrature grid (weights ``w_q``) and the Lord–Wingersky (1984) recursion for the summed-score
distribution ``f(s | θ)`` of all items and ``f_{−j}(s | θ)`` of all items but ``j``,

    E_js = Σ_q w_q P_j(θ_q) f_{−j}(s − 1 | θ_q) / Σ_q w_q f(s | θ_q)

is the model-implied proportion correct on item ``j`` among students with score ``s``; ``O_js`` is the
observed one and ``N_s`` the number of students.  Over the scores ``s = 1 … J − 1``

    S-X²_j = Σ_s N_s (O_js − E_js)² / (E_js (1 − E_js)),   df = (number of score groups) − (item parameters),

after merging adjacent score groups from both ends until every group has expected counts
``N E ≥ 1`` and ``N (1 − E) ≥ 1`` (the collapsing rule of mirt's ``itemfit``).  The score groups use
the item parameters as fixed; the statistic is referred to χ², which simulation shows holds well
(``tests/reading_tests/test_sx2.py``).  Only defined when every student answered every item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

from reading_tests.errors import InvalidInput
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import FloatArray, prob

MIN_EXPECTED = 1.0


@dataclass(frozen=True)
class SX2:
    item_ids: tuple[str, ...]
    statistic: FloatArray
    df: np.ndarray
    p_value: FloatArray


def _summed_score(p: FloatArray) -> FloatArray:
    """Lord–Wingersky: ``f(s | θ_q)`` for items with probabilities ``p`` (J × Q) → (J + 1) × Q."""
    jn, qn = p.shape
    f = np.zeros((jn + 1, qn))
    f[0] = 1.0
    for j in range(jn):
        new = f * (1.0 - p[j])
        new[1:] += f[:-1] * p[j]
        f = new
    return f


def _collapse(n: FloatArray, e: FloatArray, o: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Merge adjacent groups from both ends until expected counts reach MIN_EXPECTED."""
    groups = [[float(n[s]), float(n[s] * e[s]), float(n[s] * o[s])] for s in range(n.size) if n[s] > 0]

    def small(g: list[float]) -> bool:
        return g[1] < MIN_EXPECTED or g[0] - g[1] < MIN_EXPECTED

    while len(groups) > 1 and small(groups[0]):
        first = groups.pop(0)
        groups[0] = [x + y for x, y in zip(groups[0], first, strict=True)]
    while len(groups) > 1 and small(groups[-1]):
        last = groups.pop()
        groups[-1] = [x + y for x, y in zip(groups[-1], last, strict=True)]
    i = 1
    while i < len(groups) - 1:  # interior groups that are still too small join their right neighbour
        if small(groups[i]):
            groups[i + 1] = [x + y for x, y in zip(groups[i + 1], groups[i], strict=True)]
            groups.pop(i)
        else:
            i += 1
    arr = np.array(groups)
    return arr[:, 0], arr[:, 1] / arr[:, 0], arr[:, 2] / arr[:, 0]


def s_x2(data: ResponseData, params: ItemParams, n_nodes: int = 61) -> SX2:
    """S-X² of every item (see the module docstring); ``InvalidInput`` for incomplete data."""
    if data.n_responses != data.n_students * data.n_items:
        raise InvalidInput("S-X² needs complete data (every student answered every item)")
    p_ = params.subset(list(data.item_ids))
    x = data.to_dense()
    jn = data.n_items
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / weights.sum()
    pq = np.clip(prob(nodes[None, :], p_.a[:, None], p_.b[:, None], p_.c[:, None]), 1e-12, 1 - 1e-12)
    f_all = _summed_score(pq) @ weights  # J + 1
    score = x.sum(axis=1).astype(int)
    n_s = np.bincount(score, minlength=jn + 1).astype(float)
    n_par = np.array([{"1pl": 1, "2pl": 2, "3pl": 3}[m] for m in p_.model])
    stat = np.zeros(jn)
    df = np.zeros(jn, dtype=np.int64)
    for j in range(jn):
        f_rest = _summed_score(np.delete(pq, j, axis=0))  # J × Q (scores 0 … J − 1)
        s = np.arange(1, jn)
        expected = (f_rest[s - 1] * pq[j]) @ weights / f_all[s]
        observed = np.bincount(score, weights=x[:, j], minlength=jn + 1)[s] / np.maximum(n_s[s], 1)
        nn, ee, oo = _collapse(n_s[s], expected, observed)
        stat[j] = float((nn * (oo - ee) ** 2 / (ee * (1 - ee))).sum())
        df[j] = max(int(nn.size) - int(n_par[j]), 1)
    return SX2(data.item_ids, stat, df, np.asarray(chi2.sf(stat, df), dtype=float))
