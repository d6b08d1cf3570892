"""Benchmark: honest scores through the LMS's own delivery and scoring code, against the LMS's old scoring.

Unlike ``bench_honest_scores.py`` (the library), every step here is the product's code:

* delivery — ``lms.reading.delivery``: the design of a class of grade g (`delivery_for`, the grade's pool,
  content balancing, Sympson–Hetter calibrated per pool), `new_state` with the student's exclusion list
  (the second test leaves out the first test's items, as `lms.reading.no_repeat.seen_items` would), and
  the answer loop of `lms.reading.answers` (`record_answer` then `replan`, the first queued item answered);
* scoring — ``lms.reading.scoring.score_attempt`` (what `finalize` stores) with item mean times computed
  as `item_mean_seconds` does (mean of every timed answer, ≥ 30 answers, else 40 s) and grade norms built
  as `grade_norms` does (per grade from the attempts' stored θ̂/SE); growth by `growth_between`;
* baseline — ``lms.reading.attempts.score_responses`` (what the LMS showed before: per-skill bare numbers
  and bands, the "accuracy not above chance" flag) and the bare difference of overall scores as growth.

Population (as in ``bench_honest_scores.py``): grades 3–9, general level ``N(−0.9 + 0.3 (g − 3), 0.75²)``,
seven skills with true correlation 0.8, two 15-item tests per simulee, half with zero true growth and half
+0.3; 10 % of tests rapid-guessed (a share U(0.2, 1) of the items answered in LogNormal(log 1.5 s, 0.5) at
the item's chance level); engaged answers take mean_rt_i × LogNormal(0, 0.3) × LogNormal(0, 0.4) s with
mean_rt_i ~ U(20, 60) s.

Run ``python benchmarks/bench_lms_honest_scores.py`` (2,100 simulees); ``BENCH_QUICK=1`` for 280.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from lms.reading import delivery as dl
from lms.reading.attempts import score_responses
from lms.reading.scoring import (
    DEFAULT_MEAN_SECONDS,
    MIN_TIMED_ANSWERS,
    ScoredAnswer,
    growth_between,
    score_attempt,
)
from reading_tests.irt import prob
from reading_tests.items import SKILLS
from reading_tests.reporting import GradeNorms
from reading_tests.reporting.intervals import Z95
from reading_tests.scoring import band, scale_score

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
N_PER_GRADE = 40 if QUICK else 300
GRADES = tuple(range(3, 10))
TEST_LENGTH = 15
RHO_TRUE = 0.8
WITHIN_SD = 0.75
GROWTH = 0.3
RAPID_SHARE = 0.10
SEED = 20261207


def grade_mean(g: int) -> float:
    return -0.9 + 0.3 * (g - 3)


def take_test(
    delivery: dl.Delivery,
    theta: dict[str, float],
    mean_rt: dict[str, float],
    rng: np.random.Generator,
    *,
    rapid_guesser: bool,
    exclude: list[str],
) -> list[ScoredAnswer]:
    """One attempt through the LMS's delivery: prepare, then answer the first queued item until done."""
    state, _ = dl.new_state(delivery, int(rng.integers(2**53)), exclude)
    speed = rng.lognormal(0, 0.3)
    rapid_share = rng.uniform(0.2, 1.0) if rapid_guesser else 0.0
    answers = []
    while not state.finished:
        item = delivery.items[state.queue[0]]
        assert item.irt is not None
        if rng.random() < rapid_share:
            correct = bool(rng.random() < item.chance_level)
            seconds = float(rng.lognormal(math.log(1.5), 0.5))
        else:
            p = prob(theta[item.skill], item.irt.a, item.irt.b, item.irt.c)
            correct = bool(rng.random() < p)
            seconds = float(mean_rt[item.id] * speed * rng.lognormal(0, 0.4))
        dl.record_answer(delivery, state, item.id, correct)
        dl.replan(delivery, state)
        answers.append(ScoredAnswer(item.id, correct, seconds))
    return answers


def pct(x: float | np.floating[Any]) -> str:
    return f"{100 * float(x):5.1f} %"


def rate(hits: Any) -> str:
    """A share with its 95 % Wilson interval and n: ``1.9 % [1.1–3.1] n=850``."""
    x = np.asarray(hits, dtype=bool)
    n = x.size
    if n == 0:
        return "–"
    p, z = float(np.mean(x)), Z95
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{100 * p:5.1f} % [{100 * max(centre - half, 0):.1f}–{100 * min(centre + half, 1):.1f}] n={n}"


def main() -> None:
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    bank = dl.item_bank()
    mean_rt = {i.id: float(rng.uniform(20, 60)) for i in bank}
    n = N_PER_GRADE * len(GRADES)
    grade = np.repeat(GRADES, N_PER_GRADE)
    lam = math.sqrt(RHO_TRUE)
    z = rng.normal(size=n)
    e = rng.normal(size=(n, len(SKILLS)))
    mu = np.array([grade_mean(int(g)) for g in grade])
    theta1 = mu[:, None] + WITHIN_SD * (lam * z[:, None] + math.sqrt(1 - lam**2) * e)
    grows = rng.random(n) < 0.5
    theta2 = theta1 + np.where(grows, GROWTH, 0.0)[:, None]
    general1 = mu + WITHIN_SD * z
    rapid1 = rng.random(n) < RAPID_SHARE
    rapid2 = rng.random(n) < RAPID_SHARE

    deliveries = {
        g: dl.delivery_for(dl.DesignSpec("cat", tuple(SKILLS), TEST_LENGTH, TEST_LENGTH, 0.0, (), 0.0, g))
        for g in GRADES
    }
    for d in deliveries.values():
        d.new_attempt_design()  # calibrate Sympson–Hetter now, so the delivery time is the answer loop's
    t_design = time.perf_counter() - t0
    first, second, old_first = [], [], []
    for k in range(n):
        d = deliveries[int(grade[k])]
        th1 = dict(zip(SKILLS, theta1[k].tolist(), strict=True))
        th2 = dict(zip(SKILLS, theta2[k].tolist(), strict=True))
        a1 = take_test(d, th1, mean_rt, rng, rapid_guesser=bool(rapid1[k]), exclude=[])
        a2 = take_test(d, th2, mean_rt, rng, rapid_guesser=bool(rapid2[k]), exclude=[a.item_id for a in a1])
        first.append(a1)
        second.append(a2)
        # the same child through the old randomesque design, for the exposure comparison only
        old_delivery = dl.Delivery(design=d.design, items=d.items)
        old_first.append(
            take_test(old_delivery, th1, mean_rt, rng, rapid_guesser=bool(rapid1[k]), exclude=[])
        )
    t_delivery = time.perf_counter() - t0 - t_design

    # item mean times as item_mean_seconds computes them from the stored answers
    times: dict[str, list[float]] = defaultdict(list)
    for attempt in first + second:
        for a in attempt:
            times[a.item_id].append(a.seconds or 0.0)
    mean_seconds = {i: float(np.mean(v)) for i, v in times.items() if len(v) >= MIN_TIMED_ANSWERS}

    # old LMS scoring (and the attempt θ/SE the norms are built from, as grade_norms does)
    by_id = {i.id: i for i in bank}
    old1 = [
        {e["skill"]: e for e in score_responses(by_id, [(a.item_id, a.correct) for a in x])} for x in first
    ]
    old2 = [
        {e["skill"]: e for e in score_responses(by_id, [(a.item_id, a.correct) for a in x])} for x in second
    ]
    norms = GradeNorms.from_estimates(
        grade, [o["ALL"]["theta"] for o in old1], [o["ALL"]["se"] for o in old1], bank_provisional=True
    )
    t1 = time.perf_counter()
    rep1 = [
        score_attempt(bank, x, mean_seconds=mean_seconds, grade=int(g), norms=norms)
        for x, g in zip(first, grade, strict=True)
    ]
    rep2 = [
        score_attempt(bank, x, mean_seconds=mean_seconds, grade=int(g), norms=norms)
        for x, g in zip(second, grade, strict=True)
    ]
    t_score = (time.perf_counter() - t1) / (2 * n)
    assert all(r is not None for r in rep1 + rep2)

    print(
        f"simulees {n} ({N_PER_GRADE} per grade, 小3–中3), {TEST_LENGTH}-item CAT through "
        "lms.reading.delivery, "
        f"2 tests each; quick={QUICK}; items without {MIN_TIMED_ANSWERS} timed answers use "
        f"{DEFAULT_MEAN_SECONDS:.0f} s ({len(bank) - len(mean_seconds)} of {len(bank)})"
    )

    # ---------------- per skill
    print("\nPer skill (first test). old = what the LMS showed: a bare number and band per skill;")
    print("new = what lms.reading.scoring stores and the pages show")
    header = (
        f"{'skill':<10}{'items':>6} | {'old band':>9}{'old cov':>9}{'old flag':>9} | "
        f"{'shown':>7}{'stmt':>7}{'stmt ok':>8}{'num cov':>8}"
    )
    print(header)
    print("-" * len(header))
    for j, s in enumerate(SKILLS):
        truth = theta1[:, j]
        true_band = band(scale_score(truth))
        old = [o.get(s) for o in old1]
        took = np.array([x is not None for x in old])
        ot = np.array([x["theta"] if x else np.nan for x in old])
        ose = np.array([x["se"] if x else np.nan for x in old])
        old_band = np.mean(band(scale_score(ot[took])) == true_band[took])
        old_cov = np.mean(np.abs(ot[took] - truth[took]) <= Z95 * ose[took])
        old_flag = np.mean([x["guessing"] for x in old if x])
        new = [next((x for x in r["skills"] if x["skill"] == s), None) for r in rep1 if r]
        n_items = np.mean([x["n_items"] for x in new if x])
        shown = [x for x in new if x and x["show_number"]]
        stmt = [(x["relative"], k) for k, x in enumerate(new) if x and x["relative"]]
        specific = theta1[:, j] - general1
        right = [(rel == "stronger") == (specific[k] > 0) for rel, k in stmt]
        num_cov = [
            abs(x["score"]["theta"] - truth[k]) <= Z95 * x["score"]["se"]
            for k, x in enumerate(new)
            if x and x["show_number"]
        ]
        print(
            f"{s:<10}{n_items:>6.1f} | {pct(old_band):>9}{pct(old_cov):>9}{pct(old_flag):>9} | "
            f"{pct(len(shown) / n):>7}{pct(len(stmt) / n):>7}"
            f"{(pct(np.mean(right)) if right else '–'):>8}{(pct(np.mean(num_cov)) if num_cov else '–'):>8}"
        )
    print(
        "old band = the bare band is the true band; old cov = θ̂ ± 1.96 SE (hover only) covers the truth;\n"
        "old flag = 「当て推量」 on the skill; shown = a skill number is shown (PRMSE(s) > PRMSE(x));\n"
        "stmt = a stronger/weaker statement is made; stmt ok = its direction is right; num cov = interval\n"
        "coverage of shown skill numbers."
    )

    # ---------------- overall
    engaged1 = ~rapid1
    o_theta = np.array([r["overall"]["theta"] for r in rep1 if r])
    o_se = np.array([r["overall"]["se"] for r in rep1 if r])
    cov = np.abs(o_theta - general1) <= Z95 * o_se
    old_theta = np.array([o["ALL"]["theta"] for o in old1])
    old_se = np.array([o["ALL"]["se"] for o in old1])
    old_cov = np.abs(old_theta - general1) <= Z95 * old_se
    true_band = band(scale_score(general1))
    stmt_ok = np.array(
        [int(tb) in r["overall"]["band"]["levels"] for r, tb in zip(rep1, true_band, strict=True) if r]
    )
    ambiguous = np.mean([r["overall"]["band"]["ambiguous"] for r in rep1 if r])
    old_band = band(scale_score(old_theta)) == true_band
    widths = [r["overall"]["child_upper"] - r["overall"]["child_lower"] for r in rep1 if r]
    print(f"\nOverall score (first tests){'':<22}{'old':>30}{'new':>30}")
    for label, o, h in (
        ("95 % interval covers the true level, engaged", old_cov[engaged1], cov[engaged1]),
        ("95 % interval covers the true level, all", old_cov, cov),
        ("band (old: bare band; new: the band statement) right", old_band, stmt_ok),
    ):
        print(f"{label:<49}{rate(o):>30}{rate(h):>30}")
    print(
        f"(new: {pct(ambiguous)} of statements name two bands; mean child range {np.mean(widths):.0f} points)"
    )
    gp = [r["grade_position"] for r in rep1 if r]
    true_pct = [
        100
        * 0.5
        * (1 + math.erf((t - norms.by_grade[int(g)].mean) / norms.by_grade[int(g)].sd / math.sqrt(2)))
        for t, g in zip(general1, grade, strict=True)
    ]
    pcov = rate([p["lower"] <= tp <= p["upper"] for p, tp in zip(gp, true_pct, strict=True) if p])
    print(
        f"grade percentile interval covers the true percentile {pcov}; "
        f"provisional: {all(p['provisional'] for p in gp if p)}"
    )

    # ---------------- growth
    zero = ~grows
    both_engaged = ~(rapid1 | rapid2)
    g_new = [growth_between(a, b) for a, b in zip(rep1, rep2, strict=True) if a and b]
    new_claim = np.array([g.direction in ("up", "down") for g in g_new])
    old_delta = np.array(
        [b["ALL"]["scale_score"] - a["ALL"]["scale_score"] for a, b in zip(old1, old2, strict=True)]
    )
    old_claim = old_delta != 0
    print(f"\nGrowth claims (「前回より」){'':<24}{'old':>30}{'new':>30}")
    for label, m, o, h in (
        ("false up/down, zero true growth, engaged", zero & both_engaged, old_claim, new_claim),
        ("false up/down, zero true growth, all", zero, old_claim, new_claim),
        (
            "'up' said, true growth +30 points, engaged",
            grows & both_engaged,
            old_delta > 0,
            np.array([g.direction == "up" for g in g_new]),
        ),
    ):
        print(f"{label:<49}{rate(o[m]):>30}{rate(h[m]):>30}")

    # ---------------- flag
    rapid = np.concatenate([rapid1, rapid2])
    old_any = np.array([any(e["guessing"] for e in o.values()) for o in old1 + old2])
    new_flag = np.array([r["engagement"]["flagged"] for r in rep1 + rep2 if r])
    low = np.concatenate([general1, general1]) < -1.0
    print(f"\nGuessing / disengagement flag (per test){'':<9}{'old':>30}{'new':>30}")
    for label, m in (
        ("false alarms among engaged", ~rapid),
        ("false alarms among engaged, θ < −1", ~rapid & low),
        ("hits among rapid guessers", rapid),
    ):
        print(f"{label:<49}{rate(old_any[m]):>30}{rate(new_flag[m]):>30}")
    print("(old: 「当て推量」 on any skill or overall of the test; new: engagement.flagged, teacher only)")

    # ---------------- length and exposure
    lengths = [len(x) for x in first + second]
    print(f"\nMean test length {np.mean(lengths):.1f} items (min {min(lengths)}, max {max(lengths)})")
    print(f"{'grade pool':<12}{'items':>6}{'r_max':>7}{'max exposure old':>18}{'new':>7}")
    for g in GRADES:
        d = deliveries[g]
        top = []
        for attempts in (old_first, first):
            tests = [x for x, gg in zip(attempts, grade, strict=True) if gg == g]
            counts = Counter(a.item_id for x in tests for a in x)
            top.append(max(counts.values()) / len(tests))
        print(
            f"{'小中'[g > 6]}{g if g <= 6 else g - 6:<11}{d.design.bank.size:>6}"
            f"{dl.sh_target(TEST_LENGTH, d.design.bank.size):>7.2f}{top[0]:>18.3f}{top[1]:>7.3f}"
        )
    print("(old: randomesque k = 3; new: Sympson–Hetter as delivered; same simulees, first test)")
    repeats = sum(
        len({a.item_id for a in x} & {a.item_id for a in y}) for x, y in zip(first, second, strict=True)
    )
    print(f"items repeated from test 1 in test 2 (no-repeat exclusion): {repeats}")
    print(
        f"\ntime: designs incl. Sympson–Hetter calibration {t_design:.1f} s; delivery {t_delivery:.1f} s "
        f"({1000 * t_delivery / (2 * n):.0f} ms per test); "
        f"score_attempt {1000 * t_score:.1f} ms per attempt; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
