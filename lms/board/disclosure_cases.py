"""Generated microdata for the disclosure audit, its tests and its benchmark (no database).

- :func:`demo_city` — the demo's みどり市 (two 小学校 with 小1–小6, one 中学校 with 中1–中3, two classes per
  grade, 723 pupils in one term), where a make-up session left two grades with few pupils tested;
- :func:`hard_case` — the demo city plus the small school of issue 14: grades of 4, 9, 11 (= 8 + 3 in a
  special-needs class), 12 (all at guessing level), 14 and 6 pupils;
- :func:`large_city` — 28 schools and about 14,000 pupils, with a few small branch schools (分校).

Scores follow the platform's model: θ ~ N(grade mean + school effect, 1), an estimate with SE 0.3–0.6, the
EAP under the N(0, 1) prior, and plausible values conditioned on (school, grade) as lms.board.service does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lms.board.aggregates import GRADES, condition_on_group, plausible_values, standard_normal_draws
from lms.board.disclosure import Microdata, SkillScores

#: (school id, grade, class sizes, special-needs flags per class)
Layout = list[tuple[int, str, Sequence[int], Sequence[bool]]]
DEMO_SKILLS: tuple[str, ...] = ("ALL", "DEP", "INF")
ALL_SKILLS: tuple[str, ...] = ("ALL", "DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH")
HARD_SCHOOL = 9


def simulate(
    layout: Layout,
    *,
    skills: Sequence[str] = DEMO_SKILLS,
    pv_count: int = 5,
    seed: int = 14,
    all_guessing: Sequence[tuple[int, str]] = (),
    school_year: int = 2026,
    term: int = 1,
) -> Microdata:
    """Pupil rows for ``layout`` (module docstring); every pupil of an ``all_guessing`` cell is flagged."""
    rng = np.random.default_rng(seed)
    school, grade, class_id, special = [], [], [], []
    next_class = 1
    for sch, g, class_sizes, flags in layout:
        for size, flag in zip(class_sizes, flags, strict=True):
            school += [sch] * size
            grade += [g] * size
            class_id += [next_class] * size
            special += [flag] * size
            next_class += 1
    n = len(school)
    schools = np.array(school, dtype=np.int64)
    grades = np.array(grade, dtype=np.str_)
    level = np.array([0.35 * (GRADES.index(g) - 4) for g in grade])
    effect = {s: rng.normal(0.0, 0.25) for s in set(school)}
    ability = level + np.array([effect[s] for s in school]) + rng.normal(0.0, 0.9, n)
    keys = np.arange(n, dtype=np.int64)
    forced = np.array([(s, g) in set(all_guessing) for s, g in zip(school, grade, strict=True)])
    scores = {}
    for k, skill in enumerate(skills):
        theta = ability + rng.normal(0.0, 0.4, n)
        se_ml = rng.uniform(0.3, 0.6, n)
        estimate = theta + rng.normal(0.0, 1.0, n) * se_ml
        shrink = 1.0 / (1.0 + se_ml**2)
        eap, se = estimate * shrink, se_ml * np.sqrt(shrink)
        guessing = (rng.random(n) < 0.05) | forced
        pv = np.zeros((n, pv_count))
        for cell in {(s, g) for s, g in zip(school, grade, strict=True)}:
            rows = np.flatnonzero((schools == cell[0]) & (grades == cell[1]))
            post_mean, post_sd, _mu, _tau = condition_on_group(eap[rows], se[rows])
            pv[rows] = plausible_values(
                post_mean, post_sd, standard_normal_draws(keys[rows] * 16 + k, pv_count)
            )
        scores[skill] = SkillScores(eap=eap, se=se, guessing=guessing, pv=pv)
    return Microdata(
        school=schools, grade=grades, class_id=np.array(class_id, dtype=np.int64),
        special_needs=np.array(special, dtype=bool), skills=scores, school_year=school_year, term=term,
    )  # fmt: skip


def demo_layout(seed: int = 2026) -> Layout:
    """みどり市: 723 pupils; 第二小 小1 and 中3 had only a make-up session this term (4 and 7 pupils)."""
    rng = np.random.default_rng(seed)
    layout: Layout = []
    for school, grades in ((1, GRADES[:6]), (2, GRADES[:6]), (3, GRADES[6:])):
        for g in grades:
            layout.append((school, g, [int(x) for x in rng.integers(21, 28, 2)], [False, False]))
    layout = [(s, g, [4] if (s, g) == (2, "P1") else [7] if (s, g) == (3, "J3") else c,
               [False] if (s, g) in ((2, "P1"), (3, "J3")) else f) for s, g, c, f in layout]  # fmt: skip
    excess = sum(sum(c) for _s, _g, c, _f in layout) - 723
    full = [i for i, (_s, _g, c, _f) in enumerate(layout) if len(c) == 2]
    for step in range(abs(excess)):  # one pupil more or less per class in turn, so that the city has 723
        i = full[(step // 2) % len(full)]
        s, g, c, f = layout[i]
        c = list(c)
        c[step % 2] -= int(np.sign(excess))
        layout[i] = (s, g, c, f)
    return layout


def hard_layout() -> Layout:
    """The small school of issue 14 (id :data:`HARD_SCHOOL`)."""
    sizes = {"P1": [4], "P2": [9], "P3": [8, 3], "P4": [12], "P5": [14], "P6": [6]}
    return [(HARD_SCHOOL, g, c, [False] * (len(c) - 1) + [len(c) == 2]) for g, c in sizes.items()]


def demo_city(*, skills: Sequence[str] = DEMO_SKILLS, seed: int = 14) -> Microdata:
    return simulate(demo_layout(), skills=skills, seed=seed)


def hard_case(*, skills: Sequence[str] = DEMO_SKILLS, seed: int = 14) -> Microdata:
    return simulate(
        demo_layout() + hard_layout(), skills=skills, seed=seed, all_guessing=[(HARD_SCHOOL, "P4")]
    )


def large_city(pupils: int = 14_000, *, skills: Sequence[str] = ALL_SKILLS, seed: int = 14) -> Microdata:
    """28 schools (20 小学校, 8 中学校) of about ``pupils`` in all, plus three small branch schools."""
    rng = np.random.default_rng(seed)
    per_class = (pupils - 168 * 5 - 18 * 6) / (
        20 * 6 * 2 + 8 * 3 * 4
    )  # special-needs classes ~5, branches ~6
    layout: Layout = []
    for school in range(1, 29):
        grades, classes = (GRADES[:6], 3) if school <= 20 else (GRADES[6:], 5)
        for g in grades:
            sizes = [max(round(per_class + rng.normal(0, 3)), 5) for _ in range(classes - 1)]
            sizes.append(int(rng.integers(2, 8)))  # the special-needs class
            layout.append((school, g, sizes, [False] * (classes - 1) + [True]))
    for branch in (41, 42, 43):
        for g in GRADES[:6]:
            layout.append((branch, g, [int(rng.integers(1, 12))], [False]))
    return simulate(layout, skills=skills, seed=seed)
