"""A/B statistics: against statsmodels/scipy on Cookie Cats, interval coverage by simulation,
delta method against the bootstrap, CUPED against OLS, the planted lift, SRM, bad inputs."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats import proportion as smp

from analysis_lib.analyses import abtest as A
from analysis_lib.analyses import abtest_units as U
from analysis_lib.core import data

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
            if m.covariate and m.kind == "ratio":
                d = cols[m.covariate_denominator].astype(float)
                r |= {
                    f"{m.name}__sd": d.sum(),
                    f"{m.name}__sdd": (d * d).sum(),
                    f"{m.name}__scd": (c * d).sum(),
                    f"{m.name}__syd": (y * d).sum(),
                    f"{m.name}__sxc": (x * c).sum(),
                    f"{m.name}__sxd": (x * d).sum(),
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
    if kind == "ratio_cuped":
        return _ratio_units(rng, n, effect)
    # ratio: revenue / orders, orders ~ 1 + Poisson(1), revenue per order ~ Gamma with mean 50 (x (1+effect))
    out = {}
    for v, mult in (("control", 1.0), ("t", 1 + effect)):
        x = 1 + rng.poisson(1.0, n)
        y = rng.gamma(2.0, 25.0 * mult, n) * x
        out[v] = {"y": y, "x": x}
    return out, 50.0 * effect


def _ratio_units(rng, n: int, effect: float):
    """Revenue per order (y / x) with a pre-period revenue per order (c / d) that shares each
    unit's taste for dear items: the covariate a ratio CUPED can use. The true ratio is 50
    (x (1 + effect)) since the unit's taste has mean 1 and is independent of its orders."""
    out = {}
    for v, mult in (("control", 1.0), ("t", 1 + effect)):
        taste = rng.gamma(2.0, 0.5, n)
        x, d = 1 + rng.poisson(1.0, n), 1 + rng.poisson(1.0, n)
        y = rng.gamma(16.0, 50.0 / 16 * taste * mult) * x
        c = rng.gamma(16.0, 50.0 / 16 * taste) * d
        out[v] = {"y": y, "x": x.astype(float), "c": c, "d": d.astype(float)}
    return out, 50.0 * effect


RATIO_CUPED = A.MetricDef(
    "m", "ratio", numerator="y", denominator="x", covariate="c", covariate_denominator="d"
)


@pytest.mark.parametrize("kind", ["proportion", "mean", "ratio", "mean_cuped", "ratio_cuped"])
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
    elif kind == "ratio_cuped":
        m = RATIO_CUPED
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


def test_ratio_cuped_matches_per_unit_linearisation_and_ols():
    """CUPED of a ratio metric (sums from the engine) against a direct computation on the units:
    each unit's ratio and covariate ratio linearised by the delta method, the slope from OLS of
    one on the other over all units, each variant's variance from its adjusted linearised values.
    Before issue 14 the covariate of a ratio was ignored without a word."""
    rng = np.random.default_rng(11)
    groups, _ = _ratio_units(rng, 5000, 0.03)
    frame = pd.concat(
        [pd.DataFrame(cols).assign(variant=v) for v, cols in groups.items()], ignore_index=True
    )
    con = ibis.duckdb.connect()
    ss = A.sufficient_stats(ibis.memtable(frame), [RATIO_CUPED], execute=con.execute)
    got = A.compare(ss, [RATIO_CUPED], "control")[0]

    y, x, c, d = (frame[k].to_numpy() for k in "yxcd")
    lin_y = (y - y.sum() / x.sum() * x) / x.mean()
    lin_c = (c - c.sum() / d.sum() * d) / d.mean()
    theta = sm.OLS(lin_y, sm.add_constant(lin_c)).fit().params[1]
    rc_all = c.sum() / d.sum()
    est, var = {}, {}
    for v, g in frame.groupby("variant"):
        r, rc = g.y.sum() / g.x.sum(), g.c.sum() / g.d.sum()
        z = (g.y - r * g.x) / g.x.mean() - theta * (g.c - rc * g.d) / g.d.mean()
        est[v], var[v] = r - theta * (rc - rc_all), z.var(ddof=1) / len(g)
    diff, se = est["t"] - est["control"], np.sqrt(var["t"] + var["control"])
    assert got.abs_diff == pytest.approx(diff, rel=1e-9)
    assert (got.ci_low, got.ci_high) == pytest.approx(
        (diff - 1.96 * se, diff + 1.96 * se), rel=1e-3
    )
    assert got.p_value == pytest.approx(2 * stats.norm.sf(abs(diff / se)), rel=1e-6)
    assert "CUPED" in got.method
    plain_m = A.MetricDef("m", "ratio", numerator="y", denominator="x")
    plain = A.compare(
        A.sufficient_stats(ibis.memtable(frame), [plain_m], execute=con.execute),
        [plain_m],
        "control",
    )[0]
    assert got.ci_high - got.ci_low < 0.8 * (plain.ci_high - plain.ci_low)


def test_ratio_cuped_without_a_covariate_denominator_is_a_plain_covariate():
    """A ratio's covariate without a denominator is a per-unit covariate (denominator 1)."""
    rng = np.random.default_rng(5)
    groups, _ = _ratio_units(rng, 3000, 0.0)
    frame = pd.concat(
        [pd.DataFrame(cols).assign(variant=v, one=1.0) for v, cols in groups.items()],
        ignore_index=True,
    )
    con = ibis.duckdb.connect()
    with_one = A.MetricDef(
        "m", "ratio", numerator="y", denominator="x", covariate="c", covariate_denominator="one"
    )
    without = A.MetricDef("m", "ratio", numerator="y", denominator="x", covariate="c")
    a, b = (
        A.compare(
            A.sufficient_stats(ibis.memtable(frame), [m], execute=con.execute), [m], "control"
        )[0]
        for m in (with_one, without)
    )
    assert (a.abs_diff, a.ci_low, a.p_value) == pytest.approx((b.abs_diff, b.ci_low, b.p_value))


@pytest.mark.parametrize("missing", ["drop", "zero"])
def test_missing_values_dropped_or_zero_and_counted(missing):
    """Missing values are never silently zero: under ``drop`` a unit without every value the
    metric reads is left out of it, under ``zero`` it counts as 0; either way the count of such
    units is in the sums, and the sample ratio check keeps counting every unit."""
    rng = np.random.default_rng(2)
    n = 400
    frame = pd.DataFrame(
        {
            "variant": np.repeat(["control", "t"], n // 2),
            "y": rng.gamma(2.0, 10.0, n),
            "x": 1.0 + rng.poisson(1.0, n),
            "c": rng.gamma(2.0, 10.0, n),
        }
    )
    frame.loc[rng.choice(n, 30, replace=False), "y"] = np.nan
    frame.loc[rng.choice(n, 20, replace=False), "x"] = np.nan
    frame.loc[rng.choice(n, 10, replace=False), "c"] = np.nan
    con = ibis.duckdb.connect()
    ms = [
        A.MetricDef("mean_y", "mean", column="y", covariate="c", missing=missing, winsorize=0.95),
        A.MetricDef("ratio_yx", "ratio", numerator="y", denominator="x", missing=missing),
    ]
    ss = A.sufficient_stats(ibis.memtable(frame), ms, execute=con.execute).set_index("variant")
    for v, g in frame.groupby("variant"):
        assert ss.loc[v, "__units"] == len(g)
        for m, cols in ((ms[0], ["y", "c"]), (ms[1], ["y", "x"])):
            incomplete = g[cols].isna().any(axis=1)
            assert ss.loc[v, f"{m.name}__missing"] == incomplete.sum()
            kept = g[~incomplete] if missing == "drop" else g.fillna(0.0)
            yv = kept.y
            if m.winsorize:
                cap = ss.attrs["winsorize_caps"][m.name]
                assert cap == pytest.approx(np.quantile(frame.y.dropna(), 0.95), rel=0.02)
                yv = np.minimum(yv, cap)
            assert ss.loc[v, f"{m.name}__n"] == len(kept)
            assert ss.loc[v, f"{m.name}__sy"] == pytest.approx(yv.sum())
            assert ss.loc[v, f"{m.name}__syy"] == pytest.approx((yv * yv).sum())
            other = "sc" if m.covariate else "sx"
            assert ss.loc[v, f"{m.name}__{other}"] == pytest.approx(kept[cols[1]].sum())


@pytest.mark.parametrize(
    "lo, hi, higher_is_better, status",
    [
        (-0.01, 0.03, True, "passed"),  # a drop beyond 2% is ruled out
        (-0.04, 0.01, True, "not enough data"),  # the interval crosses -2%: not "ok"
        (-0.09, -0.03, True, "failed"),  # the whole interval is beyond -2%
        (-0.03, 0.01, False, "passed"),  # lower is better: a rise beyond 2% is ruled out
        (-0.01, 0.04, False, "not enough data"),
        (0.03, 0.08, False, "failed"),
        (float("nan"), float("nan"), True, "not enough data"),
    ],
)
def test_guardrail_status_words(lo, hi, higher_is_better, status):
    cmp = pd.DataFrame(
        [
            {
                "metric": "g",
                "variant": "t",
                "rel_diff": (lo + hi) / 2,
                "rel_ci_low": lo,
                "rel_ci_high": hi,
            }
        ]
    )
    m = A.MetricDef("g", "mean", higher_is_better=higher_is_better)
    got = A.guardrail_status(cmp, [A.Guardrail("g", 0.02)], {"g": m})
    assert got.status.tolist() == [status]


def test_verdict_names_a_guardrail_without_enough_data():
    """A significant gain ships only without a failed guardrail, and the reason says which
    guardrail could not be shown within its tolerance."""
    cmp = pd.DataFrame(
        [
            {
                "metric": "m",
                "variant": "t",
                "abs_diff": 1.0,
                "rel_diff": 0.1,
                "p_value_adjusted": 1e-6,
                "rel_ci_low": 0.05,
                "rel_ci_high": 0.15,
            },
            {
                "metric": "g",
                "variant": "t",
                "abs_diff": -0.1,
                "rel_diff": -0.01,
                "p_value_adjusted": 0.5,
                "rel_ci_low": -0.05,
                "rel_ci_high": 0.03,
            },
        ]
    )
    ms = {"m": A.MetricDef("m", "mean"), "g": A.MetricDef("g", "mean")}
    guards = A.guardrail_status(cmp, [A.Guardrail("g", 0.02)], ms)
    v = A.verdict(cmp, ms["m"], {"p_value": 0.5}, guards, 0.05, 0.001, ms)
    assert v["decision"] == "ship"
    assert "not enough data to rule out g worse than its 2% tolerance" in v["reason"]
    failed = guards.assign(status="failed")
    assert A.verdict(cmp, ms["m"], {"p_value": 0.5}, failed, 0.05, 0.001, ms)["decision"] == (
        "don't ship"
    )


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


ROOT = Path(__file__).resolve().parent.parent
FMT_KINDS = ("count", "money", "pct", "pp", "signed_pct", "ratio")


class _Tables(HTMLParser):
    """Rows of the report's tables (``wb-table``): the header cells and the body cells."""

    def __init__(self):
        super().__init__()
        self.tables, self._in, self._cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "wb-table" in (dict(attrs).get("class") or ""):
            self._in = True
            self.tables.append({"head": [], "rows": []})
        elif self._in and tag == "tr":
            self.tables[-1]["rows"].append([])
        elif self._in and tag in ("td", "th"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if self._in and tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append((tag, self._cell.strip()))
            self._cell = None
        elif tag == "table":
            self._in = False


def _records(obj) -> list[dict]:
    """Every list of records (dicts) anywhere in the recorded figures."""
    out = []
    if isinstance(obj, dict):
        for v in obj.values():
            out += _records(v)
    elif isinstance(obj, list):
        out += [r for r in obj if isinstance(r, dict)]
        for v in obj:
            out += _records(v)
    return out


def _explains(record: dict, cell: str) -> bool:
    """The cell shows one of the record's values (a number in one of the report's formats)."""
    from analysis_lib.present.report import fmt

    for v in record.values():
        if v is None and cell == "n/a":
            return True
        if isinstance(v, str) and v == cell:
            return True
        number = isinstance(v, int | float) and not isinstance(v, bool)
        if number and cell in {fmt(v, k) for k in FMT_KINDS}:
            return True
    return False


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["checkout_experiment", "cookie_cats"])
def test_every_figure_of_the_report_tables_is_in_results_json(name, tmp_path, sample_dir):
    """Each row of each table of the A/B report is one record of results.json: every cell is a
    value of that record (before issue 14 relative intervals, guardrail statuses and the
    planner's result were shown but not recorded)."""
    from tests.test_runner import workbook

    out = tmp_path / "reports"
    r = workbook("run", ROOT / "params" / "ab_test" / f"{name}.yaml", "--out", out)
    assert r.returncode == 0, r.stderr
    figs = json.loads((out / "ab_test" / name / "results.json").read_text())["figures"]
    parser = _Tables()
    parser.feed((out / "ab_test" / name / "report.html").read_text())
    records = _records(figs)
    assert len(parser.tables) >= 3  # sample ratio, results, guardrails (and segments)
    unexplained = []
    for tab in parser.tables:
        for row in tab["rows"]:
            cells = [c for tag, c in row if tag == "td"]
            if cells and not any(all(_explains(rec, c) for c in cells) for rec in records):
                unexplained.append(cells)
    assert not unexplained, unexplained
    assert all({"rel_ci_low", "rel_ci_high", "method"} <= set(m) for m in figs["metrics"])
    assert figs["guardrails"] and all(
        g["status"] in {"passed", "failed", "not enough data"} for g in figs["guardrails"]
    )
    if name == "checkout_experiment":
        plan = figs["planner"]
        assert plan["n_per_variant"] > 0 and plan["total_units"] == 2 * plan["n_per_variant"]
        assert (
            f"{plan['n_per_variant']:,} units per variant"
            in (out / "ab_test" / name / "report.html").read_text()
        )


@pytest.mark.e2e
def test_unit_table_with_missing_values_says_so(tmp_path):
    """A unit table with missing values: dropped by default, counted as 0 with ``missing: zero``,
    and either way the rule and the count of units are in the report, its data-quality section
    and results.json; the sample ratio check still counts every unit."""
    from tests.test_runner import workbook

    rng = np.random.default_rng(4)
    n = 600
    units = pd.DataFrame(
        {
            "group": np.repeat(["A", "B"], n // 2),
            "spend": rng.gamma(2.0, 10.0, n),
            "bought": rng.binomial(1, 0.3, n).astype(float),
        }
    )
    units.loc[rng.choice(n, 40, replace=False), "spend"] = np.nan
    (tmp_path / "shop").mkdir()
    units.to_parquet(tmp_path / "shop" / "units.parquet")
    (tmp_path / "ab.yaml").write_text(
        "notebook: ab_test\ntitle: Units\ndata: {url: shop}\n"
        "period: {start: 2025-10-01, end: 2025-10-31}\n"
        "unit_table: {table: units, variant_column: group}\ncontrol: A\nmetrics:\n"
        "  - {name: bought, kind: proportion}\n"
        "  - {name: spend, kind: mean}\n"
        "  - {name: spend_as_zero, kind: mean, column: spend, missing: zero}\n"
    )
    r = workbook("run", "ab.yaml", "--out", "reports", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "reports" / "ab_test" / "ab" / "results.json").read_text())
    figs = res["figures"]
    assert figs["srm"]["counts"] == {"A": n // 2, "B": n // 2}
    assert figs["missing"]["spend"]["units_missing"] == 40
    assert figs["missing"]["spend"]["units_counted"] == n - 40
    assert figs["missing"]["spend_as_zero"]["units_counted"] == n
    by = {(m["metric"], m["variant"]): m for m in figs["metrics"]}
    a = units[units.group == "A"]
    assert by[("spend", "B")]["control_value"] == pytest.approx(a.spend.mean())
    assert by[("spend_as_zero", "B")]["control_value"] == pytest.approx(a.spend.fillna(0).mean())
    assert by[("spend", "B")]["n_control"] == a.spend.notna().sum()
    dq = {f["check"]: f for f in figs["data_quality_findings"]}
    assert dq["missing value in spend (metric spend)"]["rows"] == 40
    assert "left out" in dq["missing value in spend (metric spend)"]["handling"]
    assert "counted as 0" in dq["missing value in spend (metric spend_as_zero)"]["handling"]
    html = (tmp_path / "reports" / "ab_test" / "ab" / "report.html").read_text()
    assert f"spend: 40 of {n:,} units miss a value of spend; left out of this metric" in html


@pytest.mark.e2e
def test_ratio_covariate_is_used_not_ignored(tmp_path, sample_dir):
    """A covariate on a ratio metric changes its method and its interval (before issue 14 the
    figures were those without it, and the method said "delta method")."""
    from tests.test_runner import workbook

    base = (ROOT / "params" / "ab_test" / "checkout_experiment.yaml").read_text()
    plain = base.replace("planner:", "# planner:")
    cuped = plain.replace(
        "denominator: orders}",
        "denominator: orders, covariate: pre_revenue, covariate_denominator: pre_orders}",
    )
    assert cuped != plain
    got = {}
    for name, text in (("plain", plain), ("cuped", cuped)):
        (tmp_path / f"{name}.yaml").write_text(
            text.replace("url: data/sample", f"url: {sample_dir}")
        )
        r = workbook("run", tmp_path / f"{name}.yaml", "--out", tmp_path / "reports")
        assert r.returncode == 0, r.stderr
        res = json.loads((tmp_path / "reports" / "ab_test" / name / "results.json").read_text())
        got[name] = next(m for m in res["figures"]["metrics"] if m["metric"] == "aov")
    assert got["plain"]["method"] == "delta method z-test"
    assert got["cuped"]["method"] == "delta method z-test with CUPED"
    assert got["cuped"]["ci_low"] != pytest.approx(got["plain"]["ci_low"], rel=1e-6)
