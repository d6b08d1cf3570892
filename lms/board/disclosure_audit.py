"""The attacker: everything a reader of a release can derive, checked against the truth.

The audit reads only what the board sees (the published groups and the public structure: which school has
which grades) and, conservatively, assumes the attacker also knows every cell's exact enrolment (schools
publish class sizes).  The truth (:class:`Microdata`) is used only to judge.  Attacks:

- ``direct``: a figure of a group of fewer than k pupils is published at all;
- ``exact_count``: integer programming over every published size (rounded intervals, the threshold rule
  itself: hidden ⇒ 1 … k − 1, shares shown ⇒ ≥ ``share_min``) pins a size exactly — LP bounds first, the
  integer program only for cells whose LP interval is narrow;
- ``linear_sum``: a hidden cell's score sum (mean × n) is a linear combination of published sums (exact
  linear algebra), or the hidden part of a published group describes 1 … k − 1 pupils;
- ``band_count`` / ``guessing_count``: LP over every band share, guessing share and histogram bar of every
  group, all linked through the finest cells (in units of 1/M pupil, M plausible values): a hidden cell's
  band or guessing count known to within one pupil;  ``histogram``: a group's own histogram gives a band
  count more precisely than its published share;
- ``all_or_none``: a published share of exactly 0 % or 100 % (attribute disclosure about everyone);
- ``difference``: between two releases, a group's figures changed while its size changed by 1 … k − 1.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from lms.board.disclosure import (
    BAND_BINS,
    FINE_EDGES,
    N_FINE,
    GroupKey,
    Microdata,
    Release,
    SkillFigures,
    share_interval,
)


@dataclass(frozen=True)
class Leak:
    kind: str
    group: GroupKey
    skill: str | None
    detail: str


@dataclass
class AuditReport:
    leaks: list[Leak] = field(default_factory=list)
    lp_solved: int = 0
    ip_solved: int = 0
    seconds: float = 0.0

    def kinds(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for leak in self.leaks:
            out[leak.kind] = out.get(leak.kind, 0) + 1
        return out


def _true_cell_sizes(release: Release, frame: Microdata) -> np.ndarray:
    index = {c: i for i, c in enumerate(release.cells)}
    n = np.zeros(len(release.cells), dtype=np.int64)
    for s, g in zip(frame.school, frame.grade, strict=True):
        n[index[(int(s), str(g))]] += 1
    return n


def _bounds(c_rows: list[tuple[list[int], float, float]], n_vars: int, targets: list[list[int]],
            report: AuditReport, *, lower: float = 0.0, upper: np.ndarray | None = None,
            equalities: Sequence[tuple[list[int], float]] = (), screens: Sequence[list[int]] = (),
            wide: float = np.inf, random: int = 2) -> list[tuple[float, float]]:  # fmt: skip
    """LP bounds of ``Σ x[target]`` subject to interval rows ``low ≤ Σ x[idx] ≤ high`` and equalities.

    A target proven to vary by at least ``wide`` (by the solutions of the ``screens`` objectives, each a
    list of target indices maximised and minimised together) gets the range seen instead of its exact
    bounds: enough to know it is not pinned, at a fraction of the LPs.
    """
    lp = highspy.HighsLp()
    lp.num_col_ = n_vars
    lp.num_row_ = len(c_rows) + len(equalities)
    lp.col_cost_ = np.zeros(n_vars)
    lp.col_lower_ = np.full(n_vars, lower)
    lp.col_upper_ = np.full(n_vars, highspy.kHighsInf) if upper is None else np.asarray(upper, dtype=float)
    lp.row_lower_ = np.array([lo for _i, lo, _h in c_rows] + [rhs for _i, rhs in equalities], dtype=float)
    lp.row_upper_ = np.array([hi for _i, _l, hi in c_rows] + [rhs for _i, rhs in equalities], dtype=float)
    members = [idx for idx, _l, _h in c_rows] + [idx for idx, _r in equalities]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.cumsum([0] + [len(idx) for idx in members]).astype(np.int32)
    lp.a_matrix_.index_ = np.array([i for idx in members for i in idx], dtype=np.int32)
    lp.a_matrix_.value_ = np.ones(len(lp.a_matrix_.index_))
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("presolve", "off")  # keep the basis between solves (warm start)
    highs.setOptionValue("simplex_strategy", 4)  # primal: a new objective leaves the basis feasible
    highs.passModel(lp)
    columns = np.arange(n_vars, dtype=np.int32)

    def solve(objective: np.ndarray) -> np.ndarray:
        # only the objective changes between solves: HiGHS restarts from the last basis (milliseconds)
        highs.changeColsCost(n_vars, columns, np.asarray(objective, dtype=float))
        highs.run()
        report.lp_solved += 1
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"audit LP failed: {highs.modelStatusToString(highs.getModelStatus())}")
        return np.asarray(highs.getSolution().col_value)

    seen_low = np.full(len(targets), np.inf)
    seen_high = np.full(len(targets), -np.inf)

    def record(x: np.ndarray) -> None:
        values = np.array([x[t].sum() for t in targets])
        np.minimum(seen_low, values, out=seen_low)
        np.maximum(seen_high, values, out=seen_high)

    # Screening: push every group of targets to both ends at once; a target already seen to move by
    # ``wide`` or more needs no LP of its own (the feasible points found prove the width).
    signs = np.random.default_rng(0)
    for screen in screens:
        # all together, then random sign patterns: each pushes half of the targets up, half down
        for pattern in [
            np.ones(len(screen)),
            *(signs.choice([-1.0, 1.0], len(screen)) for _ in range(random)),
        ]:
            objective = np.zeros(n_vars)
            for t, weight in zip(screen, pattern, strict=True):
                objective[targets[t]] += weight
            for sign in (1.0, -1.0):
                record(solve(sign * objective))
    out = []
    for t, target in enumerate(targets):
        if seen_high[t] - seen_low[t] >= wide:
            out.append((float(seen_low[t]), float(seen_high[t])))
            continue
        objective = np.zeros(n_vars)
        objective[target] = 1.0
        x_low = solve(objective)
        x_high = solve(-objective)
        record(x_low)  # every solution is a feasible point: it may prove later targets wide
        record(x_high)
        out.append((float(x_low[target].sum()), float(x_high[target].sum())))
    return out


def _count_attack(release: Release, n_true: np.ndarray, report: AuditReport) -> None:
    p = release.protection
    n_vars = len(release.cells)
    rows: list[tuple[list[int], float, float]] = []
    for key, group in release.groups.items():
        idx = release.members[key]
        if group.hidden:  # small, or hidden as a complement: the reader cannot tell which
            rows.append((idx, 1.0, float(10**6)))
        elif group.n is not None:
            half = (p.rounding - 1) // 2 if p.rounding > 1 else 0
            low = max(group.n - half, p.min_cell if p.suppress else 1)
            if any(f.bands is not None for f in group.figures.values()):
                low = max(low, p.share_min)
            rows.append((idx, float(low), float(group.n + half + (1 if p.rounding % 2 == 0 else 0))))
    targets = [[i] for i in range(n_vars)]
    bounds = _bounds(rows, n_vars, targets, report, lower=1.0, screens=[list(range(n_vars))], wide=3.0)
    for i, (lo, hi) in enumerate(bounds):
        lo_i, hi_i = int(np.ceil(lo - 1e-6)), int(np.floor(hi + 1e-6))
        if hi_i - lo_i <= 2 and hi_i > lo_i:  # narrow: the integer program may pin it
            lo_i, hi_i = _integer_bounds(rows, n_vars, i, report)
        if lo_i == hi_i:
            report.leaks.append(Leak("exact_count", release.cells[i], None, f"size pinned to {lo_i}"))


def _integer_bounds(rows: list[tuple[list[int], float, float]], n_vars: int, target: int,
                    report: AuditReport) -> tuple[int, int]:  # fmt: skip
    a = np.zeros((len(rows), n_vars))
    for r, (idx, _lo, _hi) in enumerate(rows):
        a[r, idx] = 1.0
    constraint = LinearConstraint(a, [lo for _i, lo, _h in rows], [hi for _i, _l, hi in rows])
    ends = []
    for sign in (1.0, -1.0):
        c = np.zeros(n_vars)
        c[target] = sign
        res = milp(c, constraints=constraint, integrality=np.ones(n_vars), bounds=Bounds(1, np.inf))
        report.ip_solved += 1
        ends.append(round(sign * res.fun) if res.status == 0 else None)
    lo, hi = ends
    return (lo if lo is not None else 0, hi if hi is not None else 10**9)


def _linear_sum_attack(release: Release, n_true: np.ndarray, report: AuditReport, k: int) -> None:
    hidden_cells = [i for i, c in enumerate(release.cells) if release.groups[c].hidden]
    for key, group in release.groups.items():
        if group.hidden:
            continue
        part = [i for i in release.members[key] if i in set(hidden_cells)]
        mass = int(n_true[part].sum())
        if 0 < mass < k:
            report.leaks.append(Leak("linear_sum", key, None, f"hidden part of {mass} pupils by subtraction"))
    if not hidden_cells:
        return
    column = {c: j for j, c in enumerate(hidden_cells)}
    rows = []
    for key, group in release.groups.items():
        if group.hidden or not group.figures:
            continue
        row = np.zeros(len(hidden_cells))
        for i in release.members[key]:
            if i in column:
                row[column[i]] = 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    for i, j in column.items():
        unit = np.zeros(len(hidden_cells))
        unit[j] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            report.leaks.append(Leak("linear_sum", release.cells[i], None, "sum of scores is determined"))


def _category_attack(release: Release, frame: Microdata, n_true: np.ndarray, report: AuditReport) -> None:
    """Band, guessing and histogram figures of all groups, linked through the finest cells (LP)."""
    p = release.protection
    m = release.pv_count
    cells = len(release.cells)
    hidden_cells = [i for i, c in enumerate(release.cells) if release.groups[c].hidden]
    edges = list(FINE_EDGES)
    for skill in frame.skills:
        # variables: y[c, f] (fine-bin counts × M) then g[c] (guessing count)
        n_vars = cells * N_FINE + cells
        rows: list[tuple[list[int], float, float]] = []
        equalities = [([c * N_FINE + f for f in range(N_FINE)], float(m * n_true[c])) for c in range(cells)]
        upper = np.concatenate([np.repeat(m * n_true, N_FINE), n_true]).astype(float)
        for key, group in release.groups.items():
            figures = group.figures.get(skill)
            # a held group shows the previous release's figures (a change of < k pupils withheld): they are
            # facts about the previous frame, not this one — the history audit attacks them across releases
            if group.hidden or group.held or figures is None:
                continue
            idx = release.members[key]
            n = float(n_true[idx].sum())
            if figures.bands is not None:
                for (lo, hi), share in zip(BAND_BINS, figures.bands, strict=True):
                    low, high = share_interval(share, p) or (0.0, 100.0)
                    rows.append(([c * N_FINE + f for c in idx for f in range(lo, hi)],
                                 m * n * low / 100.0, m * n * high / 100.0))  # fmt: skip
            guess = share_interval(figures.guessing, p)
            if guess is not None:
                rows.append(([cells * N_FINE + c for c in idx], n * guess[0] / 100.0, n * guess[1] / 100.0))
            if figures.hist is not None:
                half = p.rounding / 2.0 if p.coarse_histogram else 0.005
                for low_edge, high_edge, count in figures.hist:
                    lo, hi = edges.index(low_edge), edges.index(high_edge)
                    rows.append(([c * N_FINE + f for c in idx for f in range(lo, hi)],
                                 m * max(count - half, 0.0), m * (count + half)))  # fmt: skip
                _own_histogram_check(release, key, skill, figures, report)
        targets: list[list[int]] = []
        labels: list[tuple[int, str, float]] = []
        for c in hidden_cells:
            for b, (lo, hi) in enumerate(BAND_BINS):
                targets.append([c * N_FINE + f for f in range(lo, hi)])
                labels.append((c, f"band {b + 1}", m))
            targets.append([cells * N_FINE + c])
            labels.append((c, "guessing", 1))
        if not targets or not rows:
            continue
        screens = [
            [t for t, label in enumerate(labels) if label[1] == what]
            for what in sorted({x[1] for x in labels})
        ]
        bounds = _bounds(rows, n_vars, targets, report, upper=upper, equalities=equalities, screens=screens,
                         wide=float(m))  # fmt: skip
        for (c, what, unit), (least, most) in zip(labels, bounds, strict=True):
            if most - least < unit - 1e-6:
                kind = "guessing_count" if what == "guessing" else "band_count"
                report.leaks.append(
                    Leak(kind, release.cells[c], skill, f"{what}: {least / unit:.1f}–{most / unit:.1f}")
                )


def _own_histogram_check(
    release: Release, key: GroupKey, skill: str, figures: SkillFigures, report: AuditReport
) -> None:
    """Do the group's own bars add up to a band count known to within one pupil?"""
    if figures.hist is None:
        return
    edges = list(FINE_EDGES)
    p = release.protection
    half = p.rounding / 2.0 if p.coarse_histogram else 0.005
    bars = [(edges.index(low), edges.index(high), count) for low, high, count in figures.hist]
    for b, (lo, hi) in enumerate(BAND_BINS):
        inside = [count for a, z, count in bars if a >= lo and z <= hi]
        touching = [count for a, z, count in bars if a < hi and z > lo]
        if inside and len(inside) == len(touching) and 2 * half * len(inside) < 1.0:
            report.leaks.append(
                Leak("histogram", key, skill, f"band {b + 1} = {sum(inside):.2f} from the bars")
            )


def _share_values(release: Release, report: AuditReport) -> None:
    for key, group in release.groups.items():
        for skill, f in group.figures.items():
            for value in [*(f.bands or ()), f.guessing]:
                if isinstance(value, int | float) and value in (0, 100):
                    report.leaks.append(Leak("all_or_none", key, skill, f"share {value}%"))


def _direct(release: Release, n_true: np.ndarray, report: AuditReport, k: int) -> None:
    for key, group in release.groups.items():
        n = int(n_true[release.members[key]].sum())
        if not group.hidden and 0 < n < k:
            report.leaks.append(Leak("direct", key, None, f"figures of {n} pupils published"))


def audit_release(release: Release, frame: Microdata, *, min_cell: int = 10) -> AuditReport:
    """Every attack on one release (module docstring); the report lists what was found."""
    start = time.perf_counter()
    report = AuditReport()
    n_true = _true_cell_sizes(release, frame)
    _direct(release, n_true, report, min_cell)
    _count_attack(release, n_true, report)
    _linear_sum_attack(release, n_true, report, min_cell)
    _category_attack(release, frame, n_true, report)
    _share_values(release, report)
    report.seconds = time.perf_counter() - start
    return report


def audit_history(releases: list[Release], frames: list[Microdata], *, min_cell: int = 10) -> AuditReport:
    """Differencing over consecutive releases: a group's figures changed between two releases whose exact
    sizes behind the figures (the attacker knows each term's enrolment and sees the 「前回の値」 flag)
    differ by 1 … k − 1 pupils."""
    start = time.perf_counter()
    report = AuditReport()
    basis: dict[GroupKey, tuple[int, object]] = {}  # group → (size behind the figures, the figures)
    for release, frame in zip(releases, frames, strict=True):
        n_true = _true_cell_sizes(release, frame)
        for key, group in release.groups.items():
            if group.hidden:
                continue
            n = int(n_true[release.members[key]].sum())
            before = basis.get(key)
            if before is not None and before[1] != group.figures:
                delta = abs(n - before[0])
                if 0 < delta < min_cell:
                    report.leaks.append(Leak("difference", key, None, f"figures changed with {delta} pupils"))
            if before is None or before[1] != group.figures:
                basis[key] = (n, group.figures)
    report.seconds = time.perf_counter() - start
    return report
