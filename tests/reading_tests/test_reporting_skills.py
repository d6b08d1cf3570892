"""Higher-order skill posteriors and PRMSE against brute-force grids and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reading_tests.estimation import eap
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import prob
from reading_tests.reporting import SkillItems, added_value, skill_posteriors


def _items(rng: np.random.Generator, n: int, theta: float) -> SkillItems:
    a, b, c = rng.uniform(0.7, 1.8, n), rng.normal(0, 1, n), rng.uniform(0.1, 0.25, n)
    x = (rng.random(n) < prob(theta, a, b, c)).astype(int)
    return SkillItems.of(a, b, c, x)


def test_independent_skills_give_the_skill_only_eap() -> None:
    rng = np.random.default_rng(1)
    s = _items(rng, 8, 0.7)
    post = skill_posteriors({"A": s, "B": _items(rng, 5, -1.0)}, rho=0.0)["A"]
    ids = [f"i{k}" for k in range(s.n)]
    data = ResponseData.from_dense(s.x[None, :].astype(float), ["p"], ids)
    ref = eap(data, ItemParams.create(ids, s.a, s.b, s.c))
    assert post.theta == pytest.approx(float(ref.theta[0]), abs=0.01)
    assert post.se == pytest.approx(float(ref.se[0]), abs=0.01)


def test_two_skills_match_a_brute_force_three_dimensional_grid() -> None:
    rng = np.random.default_rng(2)
    rho = 0.64
    lam = math.sqrt(rho)
    s1, s2 = _items(rng, 3, 1.0), _items(rng, 6, -0.5)
    post = skill_posteriors({"A": s1, "B": s2}, rho=rho)
    # independent computation: p(g, θ1, θ2 | x) on a 3-D grid
    grid = np.linspace(-5, 5, 121)
    g, t1, t2 = np.meshgrid(grid, grid, grid, indexing="ij")
    resid = 1 - lam**2
    logp = -0.5 * g**2 - 0.5 * ((t1 - lam * g) ** 2 + (t2 - lam * g) ** 2) / resid
    for items, t in ((s1, t1), (s2, t2)):
        for j in range(items.n):
            p = prob(t, items.a[j], items.b[j], items.c[j])
            logp += np.log(p) if items.x[j] else np.log1p(-p)
    w = np.exp(logp - logp.max())
    w /= w.sum()
    mean1 = float((w * t1).sum())
    sd1 = math.sqrt(float((w * t1**2).sum()) - mean1**2)
    d = t1 - lam * g
    d_mean = float((w * d).sum())
    assert post["A"].theta == pytest.approx(mean1, abs=0.01)
    assert post["A"].se == pytest.approx(sd1, abs=0.01)
    assert post["A"].delta == pytest.approx(d_mean, abs=0.01)
    assert post["A"].delta_lower < post["A"].delta < post["A"].delta_upper


def test_prmse_formulas_agree_with_simulation() -> None:
    rng = np.random.default_rng(7)
    rho, lam = 0.5, math.sqrt(0.5)
    sizes = {"A": 15, "B": 3, "C": 3}
    forms = {s: _items(rng, n, 0.0) for s, n in sizes.items()}  # fixed form (responses redrawn below)
    analytic = added_value(forms, rho=rho)
    n_people = 1500
    g = rng.normal(size=n_people)
    truth = {s: lam * g + math.sqrt(1 - rho) * rng.normal(size=n_people) for s in sizes}
    aug: dict[str, list[float]] = {s: [] for s in sizes}
    alone: dict[str, list[float]] = {s: [] for s in sizes}
    overall: list[float] = []
    grid = np.linspace(-4, 4, 81)
    for k in range(n_people):
        answered = {}
        log_all = -0.5 * grid**2
        for s, f in forms.items():
            x = (rng.random(f.n) < prob(truth[s][k], f.a, f.b, f.c)).astype(int)
            answered[s] = SkillItems.of(f.a, f.b, f.c, x)
            ll = answered[s].log_likelihood(grid)
            log_all = log_all + ll
            w = np.exp(ll - 0.5 * grid**2 - (ll - 0.5 * grid**2).max())
            alone[s].append(float(w @ grid / w.sum()))
        w = np.exp(log_all - log_all.max())
        overall.append(float(w @ grid / w.sum()))
        for s, p in skill_posteriors(answered, rho=rho).items():
            aug[s].append(p.theta)
    for s in sizes:
        r2 = {
            name: np.corrcoef(v, truth[s])[0, 1] ** 2
            for name, v in (("s", alone[s]), ("x", overall), ("a", aug[s]))
        }
        av = analytic[s]
        assert av.prmse_skill == pytest.approx(r2["s"], abs=0.07)
        assert av.prmse_overall == pytest.approx(r2["x"], abs=0.07)
        assert av.prmse_augmented == pytest.approx(r2["a"], abs=0.07)
    assert analytic["A"].adds_value


def test_short_test_skills_do_not_add_value() -> None:
    rng = np.random.default_rng(9)
    form = {s: _items(rng, 2, 0.0) for s in "ABCDEFG"}  # 14 items, two per skill
    assert not any(v.adds_value for v in added_value(form).values())
