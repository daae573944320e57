"""A/B statistics: against statsmodels/scipy on Cookie Cats, interval coverage by simulation,
delta method against the bootstrap, CUPED against OLS, the planted lift, SRM, bad inputs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats import proportion as smp

from analysis_lib import abtest as A
from analysis_lib import abtest_units as U
from analysis_lib import data

COOKIE = Path(__file__).resolve().parent.parent / "analysis_lib" / "datasets" / "cookie_cats"


def ss_numpy(groups: dict[str, dict[str, np.ndarray]], metrics: list[A.MetricDef]) -> pd.DataFrame:
    """Sufficient statistics computed directly with numpy (independent of the engine path)."""
    rows = []
    for v, cols in groups.items():
        r = {"variant": v}
        for m in metrics:
            y = cols[m.y].astype(float)
            r |= {f"{m.name}__n": len(y), f"{m.name}__sy": y.sum(), f"{m.name}__syy": (y * y).sum()}
            if m.kind == "ratio":
                x = cols[m.denominator].astype(float)
                r |= {
                    f"{m.name}__sx": x.sum(),
                    f"{m.name}__sxx": (x * x).sum(),
                    f"{m.name}__sxy": (x * y).sum(),
                }
            if m.covariate:
                c = cols[m.covariate].astype(float)
                r |= {
                    f"{m.name}__sc": c.sum(),
                    f"{m.name}__scc": (c * c).sum(),
                    f"{m.name}__syc": (y * c).sum(),
                }
        rows.append(r)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def cookie():
    df = pd.read_csv(COOKIE / "cookie_cats.csv")
    src = data.connect(str(COOKIE))
    units = U.from_unit_table(
        src, "cookie_cats", "version", ["retention_1", "retention_7", "sum_game_rounds"]
    )
    ms = [
        A.MetricDef("retention_1", "proportion"),
        A.MetricDef("retention_7", "proportion"),
        A.MetricDef("sum_game_rounds", "mean"),
    ]
    ss = A.sufficient_stats(units, ms, execute=src.execute)
    cmp = A.to_frame(A.adjust(A.compare(ss, ms, "gate_30"))).set_index("metric")
    return df, ss, cmp


def test_engine_sufficient_stats_equal_numpy(cookie):
    df, ss, _ = cookie
    ms = [A.MetricDef("retention_1", "proportion"), A.MetricDef("sum_game_rounds", "mean")]
    groups = {
        v: {c: g[c].to_numpy(float) for c in ["retention_1", "sum_game_rounds"]}
        for v, g in df.groupby("version")
    }
    want = ss_numpy(groups, ms)
    for col in want.columns.drop("variant"):
        np.testing.assert_allclose(ss[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12)


def test_cookie_cats_proportions_equal_statsmodels(cookie):
    df, _, cmp = cookie
    a, b = df[df.version == "gate_40"], df[df.version == "gate_30"]
    for m in ["retention_1", "retention_7"]:
        _, p = smp.test_proportions_2indep(
            a[m].sum(), len(a), b[m].sum(), len(b), compare="diff", method="wald"
        )
        lo, hi = smp.confint_proportions_2indep(
            a[m].sum(), len(a), b[m].sum(), len(b), compare="diff", method="wald"
        )
        r = cmp.loc[m]
        assert r.abs_diff == pytest.approx(a[m].mean() - b[m].mean(), rel=1e-12)
        assert r.p_value == pytest.approx(p, rel=1e-9)
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-9)
    # the well-known result: 7-day retention is lower with the gate at level 40
    assert cmp.loc["retention_7"].p_value < 0.01 and cmp.loc["retention_7"].abs_diff < 0


def test_cookie_cats_mean_equals_scipy(cookie):
    df, _, cmp = cookie
    a = df.loc[df.version == "gate_40", "sum_game_rounds"]
    b = df.loc[df.version == "gate_30", "sum_game_rounds"]
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval()
    r = cmp.loc["sum_game_rounds"]
    assert r.p_value == pytest.approx(res.pvalue, rel=1e-9)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def _simulate(kind: str, rng, n: int, effect: float):
    if kind == "proportion":
        pc, pt = 0.10, 0.10 * (1 + effect)
        return {
            "control": {"y": rng.binomial(1, pc, n)},
            "t": {"y": rng.binomial(1, pt, n)},
        }, pt - pc
    if kind == "mean_cuped":
        out = {}
        for v, mult in (("control", 1.0), ("t", 1 + effect)):
            lam = rng.gamma(1.0, 0.5, n)
            out[v] = {"y": rng.poisson(lam * mult) * 40.0, "c": rng.poisson(lam) * 40.0}
        return out, 20.0 * effect
    if kind == "mean":
        mc, mt = 20.0, 20.0 * (1 + effect)
        return {
            "control": {"y": rng.lognormal(np.log(mc) - 0.5, 1.0, n)},
            "t": {"y": rng.lognormal(np.log(mt) - 0.5, 1.0, n)},
        }, mt - mc
    # ratio: revenue / orders, orders ~ 1 + Poisson(1), revenue per order ~ Gamma with mean 50 (x (1+effect))
    out = {}
    for v, mult in (("control", 1.0), ("t", 1 + effect)):
        x = 1 + rng.poisson(1.0, n)
        y = rng.gamma(2.0, 25.0 * mult, n) * x
        out[v] = {"y": y, "x": x}
    return out, 50.0 * effect


@pytest.mark.parametrize("kind", ["proportion", "mean", "ratio", "mean_cuped"])
@pytest.mark.parametrize("effect", [0.0, 0.05])
def test_interval_coverage(kind, effect):
    """1,000 simulated experiments per case: the 95% interval covers the true difference 93-97%."""
    rng = np.random.default_rng(12345)
    m = A.MetricDef(
        "m",
        kind,
        column="y",
        numerator="y" if kind == "ratio" else None,
        denominator="x" if kind == "ratio" else None,
    )
    if kind == "mean_cuped":
        m = A.MetricDef("m", "mean", column="y", covariate="c")
    elif kind != "ratio":
        m = A.MetricDef("m", kind, column="y")
    hits, sims = 0, 1000
    for _ in range(sims):
        groups, truth = _simulate(kind, rng, 2000, effect)
        c = A.compare(ss_numpy(groups, [m]), [m], "control")[0]
        hits += c.ci_low <= truth <= c.ci_high
    assert 0.93 <= hits / sims <= 0.97, hits / sims


def test_delta_method_matches_bootstrap():
    rng = np.random.default_rng(7)
    m = A.MetricDef("aov", "ratio", numerator="y", denominator="x")
    groups, _ = _simulate("ratio", rng, 3000, 0.0)
    ss = ss_numpy(groups, [m])
    _, var, _ = A._moments(ss.iloc[0], m)
    y, x = groups["control"]["y"], groups["control"]["x"]
    idx = rng.integers(0, len(y), (2000, len(y)))
    boot = y[idx].sum(axis=1) / x[idx].sum(axis=1)
    assert np.sqrt(var) == pytest.approx(boot.std(ddof=1), rel=0.08)


def test_cuped_reduces_variance_unbiased_and_matches_ols():
    rng = np.random.default_rng(3)
    n, effect = 4000, 1.0
    est_plain, est_cuped = [], []
    for _ in range(300):
        pre = rng.gamma(2.0, 10.0, 2 * n)
        y = 0.8 * pre + rng.normal(0, 5, 2 * n)
        t = np.repeat([0, 1], n)
        y = y + effect * t
        groups = {"control": {"y": y[:n], "pre": pre[:n]}, "t": {"y": y[n:], "pre": pre[n:]}}
        plain = A.compare(
            ss_numpy(groups, [A.MetricDef("m", "mean", column="y")]),
            [A.MetricDef("m", "mean", column="y")],
            "control",
        )[0]
        mc = A.MetricDef("m", "mean", column="y", covariate="pre")
        cup = A.compare(ss_numpy(groups, [mc]), [mc], "control")[0]
        est_plain.append(plain.abs_diff)
        est_cuped.append(cup.abs_diff)
    assert np.var(est_cuped) < 0.3 * np.var(est_plain)
    assert np.mean(est_cuped) == pytest.approx(effect, abs=3 * np.std(est_cuped) / np.sqrt(300))
    # the last draw: CUPED (one pooled slope) agrees with OLS of y on treatment and the covariate
    # (a within-group slope) to well inside the standard error
    X = sm.add_constant(np.column_stack([t, pre - pre.mean()]))
    ols = sm.OLS(y, X).fit()
    assert abs(cup.abs_diff - ols.params[1]) < 0.05 * ols.bse[1]
    assert (cup.ci_high - cup.ci_low) / 2 / 1.96 == pytest.approx(ols.bse[1], rel=0.02)


def test_srm_detects_a_broken_split():
    assert A.srm({"a": 5000, "b": 5000})["p_value"] > 0.5
    assert A.srm({"a": 5200, "b": 4800})["p_value"] < 0.001
    assert A.srm({"a": 6600, "b": 3400}, {"a": 2, "b": 1})["p_value"] > 0.001


def test_srm_blocks_the_verdict():
    cmp = pd.DataFrame(
        [
            {
                "metric": "m",
                "variant": "t",
                "abs_diff": 1.0,
                "rel_diff": 0.5,
                "p_value_adjusted": 1e-9,
                "rel_ci_low": 0.4,
                "rel_ci_high": 0.6,
            }
        ]
    )
    v = A.verdict(cmp, A.MetricDef("m", "mean"), {"p_value": 1e-6}, pd.DataFrame(), 0.05, 0.001)
    assert v["decision"] == "inconclusive" and "sample ratio mismatch" in v["reason"]
    v = A.verdict(cmp, A.MetricDef("m", "mean"), {"p_value": 0.5}, pd.DataFrame(), 0.05, 0.001)
    assert v["decision"] == "ship"


def test_holm_and_bh_adjust():
    cs = [
        A.Comparison("m", "mean", str(i), 0, 0, 0, 0, 0, 0, 0, 0, p, 1, 1, "")
        for i, p in enumerate([0.01, 0.02, 0.04])
    ]
    assert [round(c.p_value_adjusted, 4) for c in A.adjust(cs, "holm")] == [0.03, 0.04, 0.04]
    assert [round(c.p_value_adjusted, 4) for c in A.adjust(cs, "bh")] == [0.03, 0.03, 0.04]


def test_planted_lift_recovered_on_sample_data(sample_dir, truth):
    src = data.connect(str(sample_dir))
    e = truth["experiment"]
    units, notes = U.from_assignments(
        src, e["experiment_id"], dt.date.fromisoformat(e["start"]), dt.date.fromisoformat(e["end"])
    )
    m = A.MetricDef("converted", "proportion")
    ss = A.sufficient_stats(units, [m], execute=src.execute)
    c = A.compare(ss, [m], "control")[0]
    assert notes["units_in_several_variants"] == 0
    assert c.n_control + c.n_treatment == sum(e["users"])
    assert c.rel_ci_low <= e["expected_relative_lift"] <= c.rel_ci_high
    assert c.rel_diff > 0


def test_engine_winsorization_caps_at_the_percentile():
    con = ibis.duckdb.connect()
    vals = np.arange(1, 101, dtype=float)
    t = ibis.memtable(pd.DataFrame({"variant": ["a"] * 50 + ["b"] * 50, "y": vals}))
    m = A.MetricDef("y", "mean", winsorize=0.9)
    ss = A.sufficient_stats(t, [m], execute=con.execute)
    cap = np.quantile(vals, 0.9)
    assert ss["y__sy"].sum() == pytest.approx(np.minimum(vals, cap).sum())
