"""Simulated pilot: provisional IRT parameters for the shipped bank until real pilot data exist.

Design (documented in ``bank/README.md``; deterministic given the seed):

True parameters
    ``b`` = the author's ``design_difficulty``; ``a`` ~ LogNormal(log 1.1, 0.25²) drawn per item;
    ``c`` = the item's chance level (1/k for single and picture choice, 1/2 for same/different,
    1/(2^k − 1) for select-all): a student who cannot read the item guesses uniformly.
Pilot population
    ``n_students`` split evenly over the nine grades P1 … J3, band by band (P1-2, P3-4, P5-6, J1-3); grade
    ``g`` (P1 = 0 … J3 = 8) has θ ~ N(−1.2 + 0.3 g, 0.4), so the whole population has mean 0 and SD 1
    (0.4 + Var(μ_g) = 0.4 + 0.09 · 20/3), the scale the calibration assumes.
Forms
    Each grade band has at least ``n_forms`` fixed forms of ``form_length`` items (more when the band has
    more items than ``n_forms`` forms hold): about 80 % from the band's own items (rotating through them so
    every item is on at least one form) and 20 % from the adjacent band(s), which links the bands on one
    scale.  Students are spiralled over the forms of their band.
Responses
    ``P(X = 1 | θ) = c + (1 − c) / (1 + exp(−a (θ − b)))``.
Calibration
    3PL by marginal maximum likelihood (:func:`reading_tests.calibration.calibrate`) band by band
    (:func:`calibrate_pilot`): each band's students calibrate the band's own items, anchored on the items
    of the bands calibrated before it, so every band has its own latent mean and SD; the scale is then
    mapped onto the population model above.  Within a band, format groups differ in the Beta prior of
    ``c`` (centred on their chance level): the choice items with Beta(6, 16) (mode 0.25) first, then the
    same/different items with Beta(11, 11) (mode 0.5) and the select-all items with Beta(2, 30), each
    time with the choice items fixed as further anchors.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from reading_tests.io import ItemParams, ResponseData, write_params
from reading_tests.items import BANDS, GRADES, ItemBank, rewrite_tool_blocks

BAND_ORDER: tuple[str, ...] = tuple(BANDS)  # P1-2, P3-4, P5-6, J1-3
PILOT_GRADES: tuple[str, ...] = GRADES  # P1 … J3
#: Mean ability of grade g (P1 = 0) is GRADE_MEAN_START + GRADE_STEP · g; within-grade SD GRADE_SD.
GRADE_MEAN_START = -1.2
GRADE_STEP = 0.3
GRADE_SD = math.sqrt(0.4)
PARAMS_PATH = Path(__file__).parent / "bank" / "params.csv"
C_PRIORS: dict[str, tuple[float, float]] = {
    "choice": (6.0, 16.0),
    "same_different": (11.0, 11.0),
    "select_all": (2.0, 30.0),
}


@dataclass(frozen=True)
class TrueParams:
    """Generating parameters of the simulation, aligned with ``item_ids``."""

    item_ids: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray


@dataclass(frozen=True)
class PilotResult:
    """Calibrated parameters, the truth they came from and how well they were recovered."""

    params: ItemParams
    truth: TrueParams
    n_students: int
    seed: int
    date: str

    def recovery(self) -> dict[str, float]:
        """Correlation and RMSE between calibrated and true ``a`` and ``b``."""
        p = self.params
        index = {item: j for j, item in enumerate(p.item_ids)}
        order = [index[i] for i in self.truth.item_ids]
        a_hat = np.asarray(p.a)[order]
        b_hat = np.asarray(p.b)[order]
        return {
            "r_b": float(np.corrcoef(b_hat, self.truth.b)[0, 1]),
            "rmse_b": float(np.sqrt(np.mean((b_hat - self.truth.b) ** 2))),
            "r_a": float(np.corrcoef(a_hat, self.truth.a)[0, 1]),
            "rmse_a": float(np.sqrt(np.mean((a_hat - self.truth.a) ** 2))),
        }

    def recovery_by_band(self, bank: ItemBank) -> dict[str, dict[str, float]]:
        """:meth:`recovery` of ``b`` per grade band (correlation, RMSE and the number of items)."""
        p = self.params
        index = {item: j for j, item in enumerate(p.item_ids)}
        out: dict[str, dict[str, float]] = {}
        for band in BANDS:
            ids = [i for i, item in enumerate(self.truth.item_ids) if bank[item].grade_band == band]
            if len(ids) < 3:
                continue
            b_hat = np.asarray(p.b)[[index[self.truth.item_ids[i]] for i in ids]]
            b_true = self.truth.b[ids]
            out[band] = {
                "n_items": float(len(ids)),
                "r_b": float(np.corrcoef(b_hat, b_true)[0, 1]),
                "rmse_b": float(np.sqrt(np.mean((b_hat - b_true) ** 2))),
            }
        return out

    def summary(self) -> str:
        """One line for people: size of the pilot and the recovery of the true parameters."""
        r = self.recovery()
        n = np.asarray(self.params.n)
        return (
            f"simulated pilot {self.date}, seed {self.seed}: {self.n_students} students, "
            f"{len(self.truth.item_ids)} items, responses per item {int(n.min())}–{int(n.max())}; "
            f"recovery b: r = {r['r_b']:.3f}, RMSE = {r['rmse_b']:.3f}; "
            f"a: r = {r['r_a']:.3f}, RMSE = {r['rmse_a']:.3f}"
        )

    @property
    def source(self) -> str:
        return f"simulated pilot {self.date}, seed {self.seed}, see reading_tests/bank/README.md"


def true_parameters(bank: ItemBank, rng: np.random.Generator) -> TrueParams:
    """Generating parameters: ``b`` from the design difficulty, ``a`` log-normal, ``c`` = chance level."""
    items = list(bank)
    return TrueParams(
        item_ids=tuple(i.id for i in items),
        a=np.exp(rng.normal(math.log(1.1), 0.25, len(items))),
        b=np.array([i.design_difficulty for i in items], dtype=float),
        c=np.array([i.chance_level for i in items], dtype=float),
    )


def build_forms(
    bank: ItemBank, rng: np.random.Generator, *, form_length: int, n_forms: int
) -> dict[str, list[list[str]]]:
    """Fixed forms per band: mostly the band's items (rotating), the rest from adjacent bands."""
    by_band = {band: [i.id for i in bank.filter(band=band)] for band in BAND_ORDER}
    forms: dict[str, list[list[str]]] = {}
    for k, band in enumerate(BAND_ORDER):
        own = list(by_band[band])
        if not own:
            continue
        rng.shuffle(own)
        neighbours = [i for b in BAND_ORDER[max(0, k - 1) : k + 2] if b != band for i in by_band[b]]
        n_link = min(len(neighbours), round(0.2 * form_length)) if neighbours else 0
        n_own = min(len(own), form_length - n_link)
        forms_here = max(n_forms, math.ceil(len(own) / max(1, n_own)))
        step = max(1, math.ceil(len(own) / forms_here))
        band_forms = []
        for f in range(forms_here):
            start = (f * step) % len(own)
            chosen = [own[(start + i) % len(own)] for i in range(n_own)]
            links = list(rng.choice(neighbours, size=n_link, replace=False)) if n_link else []
            band_forms.append(chosen + [str(x) for x in links])
        forms[band] = band_forms
    return forms


def grade_mean(g: int) -> float:
    """Mean θ of grade index ``g`` (P1 = 0 … J3 = 8) in the simulated population."""
    return GRADE_MEAN_START + GRADE_STEP * g


def band_population(band: str) -> tuple[float, float]:
    """Mean and SD of θ over the grades of ``band`` (an equal mixture of its grades)."""
    gs = [GRADES.index(grade) for grade in BANDS[band]]
    means = [grade_mean(g) for g in gs]
    mean = sum(means) / len(means)
    var = GRADE_SD**2 + sum((m - mean) ** 2 for m in means) / len(means)
    return mean, math.sqrt(var)


def _band_of_grade(grade: str) -> str:
    return next(band for band, grades in BANDS.items() if grade in grades)


def simulate_responses(
    bank: ItemBank,
    truth: TrueParams,
    rng: np.random.Generator,
    *,
    n_students: int,
    form_length: int,
    n_forms: int = 5,
) -> ResponseData:
    """Simulated pilot responses as a :class:`reading_tests.io.ResponseData`."""
    forms = build_forms(bank, rng, form_length=form_length, n_forms=n_forms)
    col = {item: j for j, item in enumerate(truth.item_ids)}
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    values: list[np.ndarray] = []
    student_ids: list[str] = []
    per_grade = np.array_split(np.arange(n_students), len(PILOT_GRADES))
    for g, (grade, students) in enumerate(zip(PILOT_GRADES, per_grade, strict=True)):
        band_forms = forms.get(_band_of_grade(grade))
        if not band_forms:
            continue
        theta = rng.normal(grade_mean(g), GRADE_SD, len(students))
        for s, th in zip(students, theta, strict=True):
            form = band_forms[int(s) % len(band_forms)]
            j = np.array([col[i] for i in form])
            p = truth.c[j] + (1 - truth.c[j]) / (1 + np.exp(-truth.a[j] * (th - truth.b[j])))
            row = len(student_ids)
            student_ids.append(f"pilot{int(s):05d}-{_band_of_grade(grade)}")
            rows.append(np.full(len(j), row))
            cols.append(j)
            values.append((rng.random(len(j)) < p).astype(int))
    return ResponseData.from_triplets(
        np.concatenate(rows), np.concatenate(cols), np.concatenate(values), student_ids, truth.item_ids
    )


def _group(fmt: str) -> str:
    return fmt if fmt in ("same_different", "select_all") else "choice"


_Row = tuple[float, float, float, float, float, float, int]  # a, b, c, se_a, se_b, se_c, n


def band_of_student(student_id: str) -> str:
    """Band of a simulated pilot student (ids are ``pilotNNNNN-<band>``)."""
    return student_id.split("-", 1)[1]


def _students_of(data: ResponseData, band: str) -> ResponseData:
    rows = [r for r, sid in enumerate(data.student_ids) if band_of_student(sid) == band]
    return ResponseData(
        tuple(data.student_ids[r] for r in rows),
        data.item_ids,
        sp.csr_matrix(data.correct[rows]),
        sp.csr_matrix(data.incorrect[rows]),
    )


def _calibrate_band(
    data: ResponseData, new_ids: Sequence[str], done: dict[str, _Row], groups: dict[str, str]
) -> tuple[dict[str, _Row], float, float]:
    """New items of one band, anchored on the items already calibrated; the band's latent mean and SD.

    Format groups get their own ``c`` prior: first the choice items (with every calibrated item as an
    anchor), then same/different and select-all with the choice items as further anchors.
    """
    from reading_tests.calibration import calibrate

    anchor_ids = [i for i in data.item_ids if i in done]
    rows: dict[str, _Row] = {}
    mean, sd = 0.0, 1.0
    for group in ("choice", "same_different", "select_all"):
        ids = [i for i in new_ids if groups[i] == group]
        if not ids:
            continue
        fixed = anchor_ids + [i for i in rows if groups[i] == "choice"]
        anchors = _params(fixed, {**done, **rows}) if fixed else None
        fit = calibrate(data.subset_items(fixed + ids), "3pl", anchors=anchors, c_prior=C_PRIORS[group])
        p = fit.params
        for j, item in enumerate(p.item_ids):
            if item in ids:
                rows[item] = (p.a[j], p.b[j], p.c[j], p.se_a[j], p.se_b[j], p.se_c[j], int(p.n[j]))
        if group == "choice" or not any(groups[i] == "choice" for i in new_ids):
            mean, sd = fit.latent_mean, fit.latent_sd
    return rows, mean, sd


def _params(ids: Sequence[str], rows: dict[str, _Row]) -> ItemParams:
    columns = list(zip(*(rows[i] for i in ids), strict=True))
    return ItemParams.create(
        ids,
        columns[0],
        columns[1],
        columns[2],
        model="3pl",
        se_a=columns[3],
        se_b=columns[4],
        se_c=columns[5],
    )


def _mixture(weights: np.ndarray, populations: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Mean and SD of a mixture of normal populations ``(mean, sd)`` with these weights."""
    means = np.array([m for m, _ in populations])
    sds = np.array([sd for _, sd in populations])
    mean = float(weights @ means)
    return mean, float(np.sqrt(weights @ (sds**2 + means**2) - mean**2))


def calibrate_pilot(bank: ItemBank, data: ResponseData) -> ItemParams:
    """3PL calibration band by band, then one scale for the whole population (see the module docstring).

    One normal population for all students would be wrong: a 小1 and a 中3 student are far apart, and
    their shared N(0, 1) prior pulls each band toward the middle (the 小1–2 items came out 0.9 too hard,
    the 中1–3 items 0.65 too easy).  So each band's students calibrate only the band's own items, anchored
    on the items of the bands calibrated before it (the links on its forms), which gives every band its
    own latent mean and SD; the chain starts at a middle band.  Finally the scale is set so that the pilot
    students (the bands weighted by their students) have the population model's mean and SD: mean 0 and
    SD 1 when every band took part, the scale of :func:`band_population` in every case.
    """
    groups = {item.id: _group(item.format) for item in bank}
    band_items = {band: [i.id for i in bank.filter(band=band)] for band in BAND_ORDER}
    students = Counter(band_of_student(sid) for sid in data.student_ids)
    present = [band for band in BAND_ORDER if students[band] and band_items[band]]
    middle = BAND_ORDER.index(present[len(present) // 2]) if present else 0
    order = sorted(present, key=lambda band: (abs(BAND_ORDER.index(band) - middle), BAND_ORDER.index(band)))
    done: dict[str, _Row] = {}
    population: dict[str, tuple[float, float]] = {}
    for band in order:
        sub = _students_of(data, band)
        answered = sub.responses_per_item() > 0
        keep = [i for j, i in enumerate(sub.item_ids) if answered[j] and (i in done or i in band_items[band])]
        rows, mean, sd = _calibrate_band(sub.subset_items(keep), band_items[band], done, groups)
        done.update(rows)
        population[band] = (mean, sd)
    # the pilot students' θ, band by band on the first band's scale, against the population model (each
    # band's design mean and SD; together N(0, 1) when every band is present): a linear map between them
    weights = np.array([students[band] for band in order], dtype=float)
    weights /= weights.sum()
    shift, spread = _mixture(weights, [population[band] for band in order])
    target_mean, target_sd = _mixture(weights, [band_population(band) for band in order])
    scale = target_sd / spread
    order_ids = [i for i in data.item_ids if i in done]
    by_id = {item.id: item for item in bank}
    cols = list(zip(*(done[i] for i in order_ids), strict=True))
    return ItemParams.create(
        order_ids,
        np.asarray(cols[0]) / scale,
        target_mean + (np.asarray(cols[1]) - shift) * scale,
        cols[2],
        model="3pl",
        se_a=np.asarray(cols[3]) / scale,
        se_b=np.asarray(cols[4]) * scale,
        se_c=cols[5],
        n=cols[6],
        extra={
            "skill": [by_id[i].skill for i in order_ids],
            "genre": [by_id[i].genre for i in order_ids],
            "band": [by_id[i].grade_band for i in order_ids],
            "pool": [by_id[i].pool for i in order_ids],
        },
    )


def run_pilot(
    bank: ItemBank,
    *,
    seed: int = 20240601,
    n_students: int = 3000,
    form_length: int = 30,
    n_forms: int = 5,
    date: str | None = None,
) -> PilotResult:
    """Simulate the pilot and calibrate it (deterministic for a given seed and bank)."""
    rng = np.random.default_rng(seed)
    truth = true_parameters(bank, rng)
    data = simulate_responses(
        bank, truth, rng, n_students=n_students, form_length=form_length, n_forms=n_forms
    )
    params = calibrate_pilot(bank, data)
    return PilotResult(params, truth, n_students, seed, date or dt.date.today().isoformat())


def _round(x: float, digits: int = 3) -> float | None:
    return None if math.isnan(x) else round(float(x), digits)


def write_results(
    bank: ItemBank,
    result: PilotResult,
    params_path: Path | None = None,
    item_ids: Sequence[str] | None = None,
) -> None:
    """Write each item's ``irt`` block (provisional) and ``bank/params.csv`` (§5.3 columns + skill, genre)."""
    p = result.params
    wanted = set(item_ids) if item_ids is not None else None
    for j, item_id in enumerate(p.item_ids):
        item = bank[item_id]
        if item.path is None or (wanted is not None and item_id not in wanted):
            continue
        block = {
            "model": p.model[j],
            "a": _round(p.a[j]),
            "b": _round(p.b[j]),
            "c": _round(p.c[j]),
            "se_a": _round(p.se_a[j]),
            "se_b": _round(p.se_b[j]),
            "se_c": _round(p.se_c[j]),
            "n": int(p.n[j]),
            "provisional": True,
            "source": result.source,
        }
        rewrite_tool_blocks(item.path, {"irt": block})
    write_params(p, params_path or PARAMS_PATH)
