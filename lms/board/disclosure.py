"""One disclosure-control layer: every figure of a release is built here, from one microdata frame.

A *release* is the complete set of figures the board may see for one school year and term: for every
published group — the city, each school, each school's grade, the city's grade — its size, and per reading
skill its mean (with SE and 95 % interval), SD, band shares, share at guessing level and histogram.  Pages,
charts (and their data tables), CSV, the JSON API and open data read a release; none computes figures of
its own.  Protection is applied to the whole linked set at once, by rules that are safe by construction and
cheap (the integer-programming *attack* in :mod:`lms.board.disclosure_audit` is the audit, not the method):

1. **Primary suppression.** A group of 1 … k − 1 pupils (k = ``min_cell``, default 10) is hidden with every
   figure describing it.  Classes are never a published group.
2. **Complementary suppression along the hierarchy.**  The groups form a two-way table schools × grades with
   margins (a school's all-grades total, the city's grade, the city).  Every row and column is an equation
   ``Σ members = total``.  (a) *Union rule*: in every equation whose total is published, the hidden members
   together describe 0 or ≥ k pupils — otherwise the smallest published member is hidden too (repeat to a
   fixed point); subtraction then only ever yields a group of ≥ k.  (b) *Cycle rule*: a hidden cell that lies
   on no cycle of hidden cells (a bridge of the row–column graph) is fixed by the equations; the smallest
   published member of its row or column is hidden as well.  Both are deterministic (ties by position).
3. **Rounding.** Every published count (group sizes, histogram heights) is rounded to a multiple of
   ``rounding`` (5); shares to multiples of 5 %; means and SDs to whole points; SEs to one decimal.  The
   exact sizes never leave the server.
4. **Shares** (per band, at guessing level) are published only for groups of at least ``share_min`` (20)
   pupils, and never as 0 % or 100 %: a share below 5 % reads 「5%未満」, above 95 % 「95%以上」.
   When the audit can still bound a hidden cell's band count to under one pupil through the shares of the
   groups around it, the release is rebuilt with shares in steps of 10 % (then 20 %) — 「10%未満」 …
5. **Histograms** only for groups of at least ``share_min``, on 100-point bins that straddle the band cuts
   (so bins never add up to a band), adjacent bins merged until each holds ≥ k pupils, heights from the
   rounded counts.
6. **Releases, not live figures.** Consecutive releases are compared: a group whose size changed by 1 … k − 1
   keeps its previous figures (the change is withheld) until the difference covers ≥ k pupils.

Spreads come from plausible values (PVs): the SD of a group is the mean over PVs of the PV SD, which
reproduces √(var(EAP) + mean(SE²)); the SE of the mean combines sampling and measurement variance by Rubin's
rules (lms.board.aggregates).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lms.board.aggregates import GRADES, rubin
from lms.board.suppression import bridges
from reading_tests.scoring import SCALE_MEAN, SCALE_SD

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

ALL = "ALL"
#: the finest score bins (reported scale): [200, 250), …, [750, 800); values outside fall in the end bins
FINE_EDGES: tuple[int, ...] = tuple(range(200, 801, 50))
N_FINE = len(FINE_EDGES) - 1
#: the bands as ranges of fine bins (band cuts 350, 450, 550, 650 lie on the 50-point grid)
BAND_BINS: tuple[tuple[int, int], ...] = ((0, 3), (3, 5), (5, 7), (7, 9), (9, 12))
#: published histogram bins: 100 points wide, edges at 300, 400 … (half-way between band cuts)
COARSE_BINS: tuple[tuple[int, int], ...] = ((0, 2), (2, 4), (4, 6), (6, 8), (8, 10), (10, 12))
BELOW = "5%未満"
ABOVE = "95%以上"

GroupKey = tuple[int | None, str]  # (school id or None for the city, grade code or ALL)
Share = int | str | None


@dataclass(frozen=True)
class Protection:
    """The rules of the module docstring; each switch exists so that the audit can prove it matters."""

    min_cell: int = 10
    share_min: int = 20
    rounding: int = 5
    share_step: int = 5  # shares in steps of this many %; the release coarsens it if the audit objects
    suppress: bool = True
    complementary: bool = True
    clamp_shares: bool = True
    coarse_histogram: bool = True
    hold_small_changes: bool = True

    @classmethod
    def off(cls) -> Protection:
        """Publishing everything exactly (what the audit must catch)."""
        return cls(
            share_min=1, rounding=1, suppress=False, complementary=False, clamp_shares=False,
            coarse_histogram=False, hold_small_changes=False,
        )  # fmt: skip


@dataclass(frozen=True)
class SkillScores:
    """One skill's scores of every pupil of the frame (θ scale): EAP, SE, guessing flag, plausible values."""

    eap: FloatArray
    se: FloatArray
    guessing: BoolArray
    pv: FloatArray  # n × M


@dataclass(frozen=True)
class Microdata:
    """The pupil rows of one term: the single source of every figure of a release (server side only)."""

    school: IntArray
    grade: NDArray[np.str_]
    class_id: IntArray
    special_needs: BoolArray
    skills: Mapping[str, SkillScores]
    school_year: int = 0
    term: int = 0

    @property
    def size(self) -> int:
        return int(self.school.size)


@dataclass(frozen=True)
class SkillFigures:
    """Published figures of one group and skill (already rounded and clamped)."""

    mean: float
    se: float
    sd: float
    ci_low: float
    ci_high: float
    bands: tuple[Share, ...] | None
    guessing: Share
    hist: tuple[tuple[int, int, float], ...] | None  # (low edge, high edge, pupils), edges on the scale


@dataclass(frozen=True)
class PublishedGroup:
    """A group as the board sees it; ``hidden`` groups carry no figure at all."""

    key: GroupKey
    hidden: bool
    n: int | None
    figures: Mapping[str, SkillFigures] = field(default_factory=dict)
    held: bool = False  # figures kept from the previous release (a change of fewer than k pupils)


@dataclass
class Release:
    """The published figures of one term plus what the server keeps to check the next release."""

    school_year: int
    term: int
    protection: Protection
    cells: list[GroupKey]  # the finest groups (school, grade): public structure
    groups: dict[GroupKey, PublishedGroup]
    members: dict[GroupKey, list[int]]  # group → indices into ``cells``
    basis_n: dict[GroupKey, int]  # server only: exact size behind each group's published figures
    pv_count: int

    def published(self) -> list[PublishedGroup]:
        return [self.groups[k] for k in sorted(self.groups, key=_order)]


def _order(key: GroupKey) -> tuple[int, int, int]:
    school, grade = key
    return (school is None, school or 0, GRADES.index(grade) if grade in GRADES else len(GRADES))


# --- protection of the count table -------------------------------------------------------------------------


def _lines(rows: int, cols: int) -> list[list[tuple[int, int]]]:
    """Every equation of the (rows + 1) × (cols + 1) table with margins as its members, the total last."""
    lines = [[(i, j) for j in range(cols + 1)] for i in range(rows + 1)]
    lines += [[(i, j) for i in range(rows + 1)] for j in range(cols + 1)]
    return lines


def protect_counts(full: IntArray, protection: Protection) -> BoolArray:
    """Hidden mask of a count table with margins (module docstring, rules 1–2); empty cells stay visible."""
    k = protection.min_cell
    hidden = np.asarray((full > 0) & (full < k)) if protection.suppress else np.zeros(full.shape, bool)
    if not protection.complementary:
        return hidden
    rows, cols = full.shape[0] - 1, full.shape[1] - 1
    lines = _lines(rows, cols)

    def hide_smallest(candidates: Iterable[tuple[int, int]]) -> bool:
        visible = [m for m in candidates if not hidden[m] and full[m] > 0]
        if not visible:
            return False
        hidden[min(visible, key=lambda m: (int(full[m]), m))] = True
        return True

    while True:
        changed = False
        for line in lines:
            members, total = line[:-1], line[-1]
            if hidden[total]:
                continue
            mass = sum(int(full[m]) for m in members if hidden[m])
            if 0 < mass < k and hide_smallest(members):
                changed = True
        if changed:
            continue
        exposed = bridges(hidden)
        if not exposed:
            return hidden
        i, j = exposed[0]
        row = [(i, c) for c in range(cols + 1)]
        column = [(r, j) for r in range(rows + 1)]
        if not hide_smallest(row[:-1] + column[:-1]) and not hide_smallest(row + column):
            hidden[:, :] = full > 0  # pragma: no cover - a line with one hidden member always has a partner
            return hidden


# --- figures -----------------------------------------------------------------------------------------------


def round_to(value: float, base: int) -> int:
    """``value`` rounded to the nearest multiple of ``base`` (half up)."""
    return math.floor(value / base + 0.5) * base if base > 1 else math.floor(value + 0.5)


def below(step: int) -> str:
    return f"{step}%未満"


def above(step: int) -> str:
    return f"{100 - step}%以上"


def publish_share(count: float, n: float, protection: Protection) -> Share:
    """A share as published: a multiple of ``share_step`` % (5 %) within 5–95 %, or 「5%未満」/「95%以上」
    (rule 4)."""
    pct = 100.0 * count / n
    if not protection.clamp_shares:
        return round_to(pct, 1)
    step = protection.share_step
    if pct < step:
        return below(step)
    if pct > 100 - step:
        return above(step)
    return min(max(round_to(pct, step), step), 100 - step)


def _histogram(fine: FloatArray, protection: Protection) -> tuple[tuple[int, int, float], ...]:
    """Rule 5: coarse bins, sparse ones merged into a neighbour, heights rounded (expected pupils)."""
    if not protection.coarse_histogram:
        return tuple((FINE_EDGES[i], FINE_EDGES[i + 1], round(float(v), 2)) for i, v in enumerate(fine))
    bins: list[tuple[int, int, float]] = [(lo, hi, float(fine[lo:hi].sum())) for lo, hi in COARSE_BINS]
    k = protection.min_cell
    while len(bins) > 1:
        sparse = [i for i, b in enumerate(bins) if b[2] < k]
        if not sparse:
            break
        i = min(sparse, key=lambda s: (bins[s][2], s))
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(bins)]
        j = min(neighbours, key=lambda s: (bins[s][2], s))
        a, b = sorted((i, j))
        bins[a : b + 1] = [(bins[a][0], bins[b][1], bins[a][2] + bins[b][2])]
    return tuple(
        (FINE_EDGES[lo], FINE_EDGES[hi], float(round_to(count, protection.rounding)))
        for lo, hi, count in bins
    )


@dataclass(frozen=True)
class _SkillSums:
    """Per finest cell: pupils, guessing flags, per-PV sums and fine-bin counts (summed over PVs)."""

    n: IntArray  # cells
    guessing: IntArray  # cells
    pv_sum: FloatArray  # cells × M
    pv_sumsq: FloatArray  # cells × M
    fine: IntArray  # cells × N_FINE, in units of 1/M pupil


def _skill_sums(cell_of: IntArray, n_cells: int, scores: SkillScores) -> _SkillSums:
    pv = np.asarray(scores.pv, dtype=float)
    m = pv.shape[1]
    scale = SCALE_MEAN + SCALE_SD * pv
    fine_bin = np.clip(
        np.searchsorted(np.asarray(FINE_EDGES[1:-1], float), scale, side="right"), 0, N_FINE - 1
    )
    fine = np.zeros((n_cells, N_FINE), dtype=np.int64)
    np.add.at(fine, (np.repeat(cell_of, m), fine_bin.ravel()), 1)
    pv_sum = np.zeros((n_cells, m))
    pv_sumsq = np.zeros((n_cells, m))
    np.add.at(pv_sum, cell_of, pv)
    np.add.at(pv_sumsq, cell_of, pv * pv)
    return _SkillSums(
        n=np.bincount(cell_of, minlength=n_cells).astype(np.int64),
        guessing=np.bincount(cell_of, weights=scores.guessing.astype(float), minlength=n_cells).astype(
            np.int64
        ),
        pv_sum=pv_sum,
        pv_sumsq=pv_sumsq,
        fine=fine,
    )


def group_statistics(n: int, pv_sum: FloatArray, pv_sumsq: FloatArray) -> tuple[float, float, float]:
    """(mean, SE of the mean, SD) on the reported scale from a group's per-PV sums (Rubin's rules)."""
    q = pv_sum / n
    var = np.maximum((pv_sumsq - n * q * q) / max(n - 1, 1), 0.0)
    mean, se = rubin(q, var / n)
    return SCALE_MEAN + SCALE_SD * mean, SCALE_SD * se, SCALE_SD * float(np.sqrt(var).mean())


def _figures(n: int, sums: dict[str, tuple[int, FloatArray, FloatArray, IntArray]], m: int,
             protection: Protection) -> dict[str, SkillFigures]:  # fmt: skip
    exact = protection == Protection.off() or protection.rounding == 1
    out = {}
    for skill, (guessing, pv_sum, pv_sumsq, fine) in sums.items():
        mean, se, sd = group_statistics(n, pv_sum, pv_sumsq)
        shares_ok = n >= protection.share_min
        expected = fine / m
        bands = (
            tuple(publish_share(float(expected[lo:hi].sum()), n, protection) for lo, hi in BAND_BINS)
            if shares_ok
            else None
        )
        digits = 1 if exact else 0
        out[skill] = SkillFigures(
            mean=round(mean, digits),
            se=round(se, 1),
            sd=round(sd, digits),
            ci_low=round(mean - 1.96 * se, digits),
            ci_high=round(mean + 1.96 * se, digits),
            bands=bands,
            guessing=publish_share(guessing, n, protection) if shares_ok else None,
            hist=_histogram(expected, protection) if shares_ok else None,
        )
    return out


def build_release(
    frame: Microdata, protection: Protection | None = None, previous: Release | None = None
) -> Release:
    """Every published figure of the term of ``frame`` (module docstring); ``previous``: the last release."""
    p = protection or Protection()
    schools = sorted({int(s) for s in frame.school})
    grades = [g for g in GRADES if g in set(frame.grade.tolist())]
    pairs: list[GroupKey] = sorted(
        {(int(s), str(g)) for s, g in zip(frame.school, frame.grade, strict=True)},
        key=lambda c: (c[0] or 0, GRADES.index(c[1])),
    )
    cell_index = {c: i for i, c in enumerate(pairs)}
    cell_of = np.array([cell_index[(int(s), str(g))] for s, g in zip(frame.school, frame.grade, strict=True)],
                       dtype=np.int64)  # fmt: skip
    n_cells = len(pairs)
    counts = np.zeros((len(schools) + 1, len(grades) + 1), dtype=np.int64)
    row_of = {s: i for i, s in enumerate(schools)}
    col_of = {g: j for j, g in enumerate(grades)}
    members: dict[GroupKey, list[int]] = {}
    for index, (school, grade) in enumerate(pairs):
        for parent in ((school, grade), (school, ALL), (None, grade), (None, ALL)):
            members.setdefault(parent, []).append(index)
    n_cell = np.bincount(cell_of, minlength=n_cells)
    for (school, grade), index in cell_index.items():
        assert school is not None
        counts[row_of[school], col_of[grade]] = n_cell[index]
    counts[:-1, -1] = counts[:-1, :-1].sum(axis=1)
    counts[-1, :] = counts[:-1, :].sum(axis=0)
    hidden = protect_counts(counts, p)

    def position(key: GroupKey) -> tuple[int, int]:
        school, grade = key
        return (-1 if school is None else row_of[school], -1 if grade == ALL else col_of[grade])

    skill_sums = {skill: _skill_sums(cell_of, n_cells, scores) for skill, scores in frame.skills.items()}
    m = next(iter(frame.skills.values())).pv.shape[1] if frame.skills else 1
    groups: dict[GroupKey, PublishedGroup] = {}
    basis: dict[GroupKey, int] = {}
    for key, idx in members.items():
        n = int(n_cell[idx].sum())
        if hidden[position(key)]:
            groups[key] = PublishedGroup(key=key, hidden=True, n=None)
            basis[key] = n
            continue
        before = previous.groups.get(key) if previous is not None else None
        if (
            p.hold_small_changes
            and previous is not None
            and before is not None
            and not before.hidden
            and 0 < abs(n - previous.basis_n[key]) < p.min_cell
        ):
            groups[key] = replace(before, held=True)
            basis[key] = previous.basis_n[key]
            continue
        sums = {
            skill: (int(s.guessing[idx].sum()), s.pv_sum[idx].sum(axis=0), s.pv_sumsq[idx].sum(axis=0),
                    s.fine[idx].sum(axis=0))
            for skill, s in skill_sums.items()
        }  # fmt: skip
        groups[key] = PublishedGroup(
            key=key, hidden=False, n=round_to(n, p.rounding), figures=_figures(n, sums, m, p)
        )
        basis[key] = n
    return Release(
        school_year=frame.school_year, term=frame.term, protection=p, cells=pairs, groups=groups,
        members=members, basis_n=basis, pv_count=m,
    )  # fmt: skip


def share_interval(value: Share, protection: Protection) -> tuple[float, float] | None:
    """What a published share tells a reader about the true percentage: ``[low, high]``."""
    if value is None:
        return None
    if isinstance(value, str):
        bound = float(value.split("%")[0])
        return (0.0, bound) if value.endswith("未満") else (bound, 100.0)
    half = protection.share_step / 2 if protection.clamp_shares else 0.5
    v = float(value)
    return (max(v - half, 0.0), min(v + half, 100.0))


def sizes(release: Release, rows: Sequence[GroupKey] | None = None) -> dict[GroupKey, int | None]:
    """The published (rounded) size of each group; None when hidden."""
    keys = rows if rows is not None else list(release.groups)
    return {k: release.groups[k].n for k in keys}


def as_dict(group: PublishedGroup) -> dict[str, Any]:
    """A JSON-friendly form of a published group (the API's and the audit's view)."""
    return {
        "school": group.key[0],
        "grade": group.key[1],
        "hidden": group.hidden,
        "n": group.n,
        "held": group.held,
        "skills": {
            s: {
                "mean": f.mean, "se": f.se, "sd": f.sd, "ci_low": f.ci_low, "ci_high": f.ci_high,
                "bands": list(f.bands) if f.bands is not None else None, "guessing": f.guessing,
                "hist": [list(b) for b in f.hist] if f.hist is not None else None,
            }
            for s, f in group.figures.items()
        },
    }  # fmt: skip
