"""Target setting: the forecast recovers a planted trend and seasonality, its 80% intervals cover
about 80% of held-out months, allocations sum exactly, and targets written here are read by the
KPI monitor."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis_lib.analyses import kpi
from analysis_lib.analyses import target_setting as T
from analysis_lib.core import data
from analysis_lib.errors import DataError

GROWTH, AMP = 0.30, 0.20


def synth(seed: int, n: int = 60, noise: float = 0.05) -> pd.Series:
    """Monthly GMV with a planted 30% yearly growth and a +-20% (log) seasonal peak in December."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2019-01-01", periods=n, freq="MS")
    t, m = np.arange(n), idx.month.to_numpy()
    ly = (
        np.log(1e5)
        + np.log(1 + GROWTH) * t / 12
        + AMP * np.cos(2 * np.pi * (m - 12) / 12)
        + rng.normal(0, noise, n)
    )
    return pd.Series(np.exp(ly), index=idx)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forecast_recovers_planted_trend_and_seasonality(seed):
    y = synth(seed)
    fc = T.forecast(y, 12)
    growth = fc.table["mean"].sum() / y.iloc[-12:].sum() - 1
    assert growth == pytest.approx(GROWTH, abs=0.08)  # stated tolerance: 8 points
    profile = np.log(fc.table["mean"] / fc.table["mean"].mean())
    assert profile.idxmax().month == 12
    # amplitude of the seasonal swing (half the log range), after removing the trend's share
    trend = np.log(1 + GROWTH) * 11 / 12 / 2
    assert (profile.max() - profile.min()) / 2 == pytest.approx(AMP, abs=0.05 + trend)


def test_backtest_interval_coverage():
    cov = [
        T.backtest_coverage(synth(100 + s), 36, seasonal=True)["covered"].mean() for s in range(4)
    ]
    print(f"80% intervals cover {np.mean(cov):.1%} of 96 held-out months")
    assert 0.70 <= np.mean(cov) <= 0.90


def test_forecast_refuses_short_history_for_seasonality():
    with pytest.raises(DataError, match="two full seasons"):
        T.forecast(synth(0, n=18), 12, seasonal=True)
    T.forecast(synth(0, n=18), 12, seasonal=False)


@pytest.mark.parametrize("total", [1.0, 999_999.99, 1_234_567.89, 3.0])
def test_allocation_sums_exactly(total):
    w = pd.Series(np.random.default_rng(1).random(12) + 0.01)
    a = T.allocate(total, w)
    assert round(a.sum() * 100) == round(total * 100)
    assert (a >= 0).all()


def test_allocation_refuses_nonpositive_total():
    with pytest.raises(ValueError, match="positive"):
        T.allocate(0, pd.Series([1.0]))


def test_targets_written_here_are_read_by_kpi_monitor(tmp_path, sample_dir):
    monthly = T.allocate(
        1_200_000, pd.Series(1.0, index=pd.date_range("2026-01-01", periods=12, freq="MS"))
    )
    tab = T.targets_table(
        2026, monthly, pd.Series({"search": 600_000.0, "organic": 600_000.0}), None, {"gmv": "ops"}
    )
    folder = tmp_path / "shop"
    folder.mkdir()
    for t in ["orders", "events"]:
        (folder / t).symlink_to(sample_dir / t)
    T.write_targets(tab, str(folder / "targets.parquet"))
    src = data.connect(str(folder))
    data.check_tables(src, {}, {"targets": None})
    got = kpi.targets_for_period(kpi.load_targets(src), dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert got.loc[got.metric == "gmv", "target"].iloc[0] == pytest.approx(100_000.0)


def test_feasibility_from_paths():
    y = synth(5)
    fc = T.forecast(y, 12, n_sims=4000)
    months = fc.table.index
    base = T.feasibility(fc, 1.0, months).baseline
    assert T.feasibility(fc, base * 0.5, months).p_reach > 0.95
    assert T.feasibility(fc, base * 2.0, months).p_reach < 0.05
    assert T.feasibility(fc, base, months).required_uplift == pytest.approx(0.0, abs=1e-9)


def test_p_reach_comes_from_the_draws_of_the_interval_and_the_median():
    """Issue 16: the CDNOW card showed a baseline (the mean of a skewed forecast) above the target
    beside P(reach) 27.9%. The central figure is the median of the same simulated totals the
    interval and P(reach) come from, so P(reach) is below one half exactly when the target is
    above the baseline, and at the interval's bounds it is the interval's tail shares."""
    y = synth(7, n=36, noise=0.15)
    fc = T.forecast(y, 12, seasonal=False, n_sims=3000, level=0.8)
    months = fc.table.index
    totals = T.year_totals(fc, months)
    f0 = T.feasibility(fc, 1.0, months)
    assert f0.mean > f0.baseline  # the forecast is skewed: the mean is not the central figure
    assert f0.baseline == pytest.approx(float(np.median(totals)))
    assert f0.ci_low < f0.baseline < f0.ci_high
    for target in [f0.ci_low, 0.99 * f0.baseline, f0.baseline * 1.01, f0.mean, f0.ci_high]:
        f = T.feasibility(fc, target, months)
        assert f.p_reach == pytest.approx(float((totals >= target).mean()))
        assert (f.p_reach < 0.5) == (target > f.baseline), target
        assert f.required_uplift == pytest.approx(target / f.baseline - 1)
    assert T.feasibility(fc, f0.ci_low, months).p_reach == pytest.approx(0.9, abs=0.002)
    assert T.feasibility(fc, f0.ci_high, months).p_reach == pytest.approx(0.1, abs=0.002)
    # the scenarios scale the same draws: a factor of 1 is the baseline itself
    s = T.scenarios(fc, months, f0.mean, [{"name": "none"}, {"name": "x", "uv": 0.1}])
    assert s.gmv.iloc[0] == pytest.approx(f0.baseline)
    assert s.p_reach_target.iloc[0] == pytest.approx(T.feasibility(fc, f0.mean, months).p_reach)
    assert s.p_reach_target.iloc[1] == pytest.approx(float((totals * 1.1 >= f0.mean).mean()))


def test_monthly_split_sits_at_one_quantile_inside_the_band():
    """Round 2 (targets 2026): split by the median path's shares, January to March sat above the
    80% upper bound while the late, uncertain months were easy. At one common quantile every
    month's target is its own forecast's q-quantile, the months add up to the target, and none
    leaves the band while the year's target is within the sum of the bounds."""
    y = synth(11, n=48, noise=0.08)
    fc = T.forecast(y, 12, seasonal=True, n_sims=3000, level=0.8)
    months = fc.table.index
    f = T.feasibility(fc, 1.0, months)
    target = (f.baseline + f.ci_high) / 2  # above the median, inside the year's band
    sp = T.monthly_split(fc, months, target)
    assert round(sp.amounts.sum() * 100) == round(target * 100)
    q = np.quantile(T.month_draws(fc, months), sp.quantile, axis=0)
    assert sp.amounts.to_numpy() == pytest.approx(q, rel=1e-6, abs=0.02)
    assert 0.5 < sp.quantile < 0.9
    assert not sp.above_band and not sp.below_band
    assert (sp.amounts <= fc.table["ci_high"]).all()
    # the seasonal shape is kept: December, the planted peak, has the largest target
    assert sp.amounts.idxmax().month == 12
    # a year's target beyond every month's upper bound is said month by month
    far = T.monthly_split(fc, months, fc.table["ci_high"].sum() * 1.5)
    assert len(far.above_band) == 12


def test_year_to_date_from_the_same_draws():
    """Round 2 (CDNOW): actuals of the target year were in a table only. The year so far compares
    the actual with the target and with the forecast over the same months, from the draws."""
    y = synth(12, n=36)
    fc = T.forecast(y, 12, seasonal=True, n_sims=2000)
    months = fc.table.index
    target = T.feasibility(fc, 1.0, months).baseline
    monthly = T.monthly_split(fc, months, target).amounts
    actual = pd.Series(np.nan, index=months)
    actual.iloc[:4] = fc.table["median"].iloc[:4] * 1.2
    actual.iloc[6] = 1.0  # after a gap: not part of the year so far
    y2d = T.year_to_date(fc, months, monthly, actual, target)
    assert y2d.months == 4 and y2d.end == months[3]
    sums = T.month_draws(fc, months[:4]).sum(axis=1)
    assert y2d.forecast == pytest.approx(float(np.median(sums)))
    assert y2d.ci_low < y2d.forecast < y2d.ci_high
    assert y2d.target == pytest.approx(monthly.iloc[:4].sum())
    assert y2d.actual == pytest.approx(actual.iloc[:4].sum())
    assert y2d.actual + y2d.rest_target == pytest.approx(target)
    assert y2d.rest_forecast == pytest.approx(
        float(np.median(T.month_draws(fc, months[4:]).sum(axis=1)))
    )
    assert y2d.vs_forecast > 0.1  # the planted +20% on the medians shows
    assert T.year_to_date(fc, months, monthly, actual * np.nan, target) is None


def _history(months: int = 24, with_uv: bool = True) -> pd.DataFrame:
    idx = pd.date_range("2024-01-01", periods=months, freq="MS")
    rng = np.random.default_rng(3)
    uv = rng.integers(800, 1200, months).astype(float)
    buyers = np.round(uv * rng.uniform(0.08, 0.12, months))
    orders = buyers + rng.integers(0, 20, months)
    gmv = orders * rng.uniform(90, 110, months)
    h = pd.DataFrame({"gmv": gmv, "orders": orders, "buyers": buyers}, index=idx)
    return h.assign(uv=uv) if with_uv else h


@pytest.mark.parametrize("with_uv", [True, False])
def test_driver_tree_starts_from_its_stated_base(with_uv):
    """Issue 16: the tree said "last twelve months" but applied the uplift over the forecast
    (+22.2% on the sample shop, where the last twelve months need +104%). The drivers' base values
    multiply to the GMV of the last twelve months; each alone scales by target / that GMV; and
    the two bases are tied: (1 + on the base) = (1 + what the forecast carries) x (1 + gap)."""
    h = _history(with_uv=with_uv)
    last12 = float(h["gmv"].iloc[-12:].sum())
    target, baseline = 2.1 * last12, 1.4 * last12
    tree = T.driver_tree(h, target, baseline)
    assert tree.base_months == 12 and tree.base_start == h.index[-12]
    assert tree.base_gmv == pytest.approx(last12)
    assert [d.key for d in tree.drivers] == (
        ["uv", "conversion_rate", "orders_per_buyer", "aov"] if with_uv else ["orders", "aov"]
    )
    assert np.prod([d.base for d in tree.drivers]) == pytest.approx(last12)
    for d in tree.drivers:
        assert d.needed / d.base == pytest.approx(target / last12)
        assert d.change_rel == pytest.approx(tree.uplift_on_base)
    assert tree.uplift_on_base == pytest.approx(1.1)
    assert tree.gap == pytest.approx(target / baseline - 1)
    assert (1 + tree.uplift_on_base) == pytest.approx((1 + tree.baseline_change) * (1 + tree.gap))
    assert (1 + tree.spread()) ** len(tree.drivers) == pytest.approx(1 + tree.gap)
    # round 2: the action (beyond the forecast) and the tree (on the base) are one plan
    n = len(tree.drivers)
    assert (1 + tree.shared_on_base()) ** n == pytest.approx(1 + tree.uplift_on_base)
    assert 1 + tree.shared_on_base() == pytest.approx(
        (1 + tree.baseline_shared()) * (1 + tree.spread())
    )
    assert np.prod(tree.shared_levels()) == pytest.approx(target)


def test_driver_tree_annualises_a_short_base():
    h = _history(months=8)
    tree = T.driver_tree(h, 1e6, 5e5)
    assert tree.base_months == 8
    assert tree.base_gmv == pytest.approx(h["gmv"].sum() * 12 / 8)
    assert np.prod([d.base for d in tree.drivers]) == pytest.approx(tree.base_gmv)


def _shop_of_orders(folder, months: int = 12):
    """A shop folder holding only an orders.parquet with one paid order a day for ``months``."""
    days = pd.date_range("2024-01-01", periods=months * 30, freq="D")
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(days))],
            "user_id": [f"u{i % 50}" for i in range(len(days))],
            "order_ts": days + pd.Timedelta(hours=12),
            "gmv": 100.0 + np.arange(len(days)) % 7,
            "status": "paid",
        }
    ).to_parquet(folder / "orders.parquet")


@pytest.mark.e2e
@pytest.mark.parametrize(
    "target, field",
    [("data/orders.parquet", "inside the data folder"), ("targets.parquet", "outside exports/")],
)
def test_write_targets_never_touches_the_data(tmp_path, target, field):
    """Pointed at the orders table (the data loss of issue 14) or outside exports/, the run is
    refused in one line before anything runs, and the data folder stays byte for byte as it was."""
    from tests.test_runner import workbook

    _shop_of_orders(tmp_path / "data")
    before = {p.name: p.read_bytes() for p in (tmp_path / "data").iterdir()}
    (tmp_path / "t.yaml").write_text(
        "notebook: target_setting\ntitle: T\ndata: {url: data}\n"
        "period: {start: 2024-01-01, end: 2024-11-30}\ntarget_year: 2025\n"
        f"annual_target: 50000\nseasonal: false\nwrite_targets: {target}\n"
    )
    r = workbook("run", "t.yaml", "--out", "reports", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and f"field 'write_targets': {target} is {field}" in r.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "data").iterdir()} == before
    assert not (tmp_path / "targets.parquet").exists() and not (tmp_path / "reports").exists()


@pytest.mark.e2e
def test_write_targets_under_exports_is_written(tmp_path):
    """The documented place: a targets table under exports/ is written and read back."""
    from tests.test_runner import workbook

    _shop_of_orders(tmp_path / "data")
    (tmp_path / "t.yaml").write_text(
        "notebook: target_setting\ntitle: T\ndata: {url: data}\n"
        "period: {start: 2024-01-01, end: 2024-11-30}\ntarget_year: 2025\n"
        "annual_target: 50000\nseasonal: false\nwrite_targets: exports/t2025.parquet\n"
    )
    r = workbook("run", "t.yaml", "--out", "reports", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = pd.read_parquet(tmp_path / "exports" / "t2025.parquet")
    assert got.loc[got.period == "2025", "target_value"].iloc[0] == pytest.approx(50000)
    assert got.loc[got.period.str.len() == 7, "target_value"].sum() == pytest.approx(50000)


# --- the rendered report: one source of truth per figure, related figures related -----------


@pytest.fixture(scope="module")
def target_reports(tmp_path_factory, sample_dir):
    """The CDNOW example (a skewed forecast whose mean is above the target) in English and
    Chinese, charts checked against the house rules."""
    import os

    import yaml

    from tests.test_runner import ROOT, workbook

    out = tmp_path_factory.mktemp("targets") / "reports"
    raw = yaml.safe_load((ROOT / "params/target_setting/cdnow_1998.yaml").read_text())
    raw["data"]["url"] = str(ROOT / raw["data"]["url"])
    runs = {}
    for lang in ("en", "zh"):
        p = out.parent / f"cdnow_{lang}.yaml"
        p.write_text(yaml.safe_dump(raw | {"lang": lang}))
        r = workbook("run", p, "--out", out, env=os.environ | {"WORKBOOK_CHECK_CHARTS": "1"})
        assert r.returncode == 0, r.stdout + r.stderr
        runs[lang] = out / "target_setting" / p.stem
    return out, runs


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_target_report_figures_agree_and_relate(target_reports, lang):
    import json

    from bs4 import BeautifulSoup

    from analysis_lib.present.context import use
    from analysis_lib.present.narrative import target_setting as N
    from analysis_lib.present.numbers import fmt

    out, runs = target_reports
    res = json.loads((runs[lang] / "results.json").read_text())
    f = res["figures"]
    # related figures keep their relations
    assert f["required_uplift"] == pytest.approx(
        f["target_total"] / f["baseline_forecast_total"] - 1
    )
    # P(reach target) with the year so far (CDNOW: six months in) against the year's median end
    # with the actual; the forecast alone against its own median
    assert (f["p_reach_target"] < 0.5) == (f["target_total"] > f["outlook_total"])
    assert (f["p_reach_baseline"] < 0.5) == (f["target_total"] > f["baseline_forecast_total"])
    assert f["outlook_total"] == pytest.approx(f["actual_to_date"] + f["rest_forecast"])
    assert f["baseline_lo"] < f["baseline_forecast_total"] < f["baseline_hi"]
    assert f["baseline_mean"] > f["baseline_forecast_total"]  # CDNOW: skewed; the median is shown
    assert 1 + f["uplift_on_last12"] == pytest.approx(
        (1 + f["baseline_change_on_last12"]) * (1 + f["required_uplift"])
    )
    assert sum(f["monthly_targets"].values()) == pytest.approx(f["target_total"], abs=0.01)
    # the year so far (CDNOW data runs to 1998-06-30): the same months on every side
    done = sorted(f["monthly_targets"])[: f["months_to_date"]]
    assert f["months_to_date"] == 6
    assert f["target_to_date"] == pytest.approx(sum(f["monthly_targets"][m] for m in done))
    assert f["actual_to_date"] + f["rest_target"] == pytest.approx(f["target_total"])
    assert f["forecast_to_date_lo"] < f["forecast_to_date"] < f["forecast_to_date_hi"]
    assert 1 + f["shared_on_last12"] == pytest.approx(
        (1 + f["uplift_on_last12"]) ** 0.5
    )  # orders x AOV: two drivers
    soup = BeautifulSoup((runs[lang] / "report.html").read_text(encoding="utf-8"), "html.parser")
    cards = [c.select_one(".wb-card-value").get_text() for c in soup.select(".wb-card")]
    findings = " ".join(li.get_text() for li in soup.select(".wb-findings li"))
    index = BeautifulSoup(
        (out / "index.html").read_text(encoding="utf-8"), "html.parser"
    ).get_text()
    with use(lang=lang, currency=res["params"]["currency"]):
        expect = [
            fmt(f["target_total"], "money_compact"),
            fmt(f["baseline_forecast_total"], "money_compact"),
            fmt(f["required_uplift"], "signed_pct"),
            fmt(f["p_reach_target"], "pct"),
            fmt(f["actual_to_date"], "money_compact"),
        ]
        ytd = [
            fmt(f["target_to_date"], "money_compact"),
            fmt(f["forecast_to_date"], "money_compact"),
            fmt(f["actual_to_date"] / f["target_to_date"] - 1, "signed_pct"),
            fmt(f["actual_to_date"] / f["forecast_to_date"] - 1, "signed_pct"),
            fmt(f["rest_target"], "money_compact"),
        ]
        shared = fmt(f["shared_on_last12"], "signed_pct")
        beyond = fmt(f["shared_beyond_baseline"], "signed_pct")
        on_base = fmt(f["uplift_on_last12"], "signed_pct")
        # in the actions a change on the last twelve months is said as a direction, not a sign
        # after "lift" ("23.0% below the last twelve months", not "lift ... −23.0%")
        said = [N.against(f["shared_on_last12"]), N.against(f["uplift_on_last12"])]
        # CDNOW has no visits: GMV = orders x AOV
        tree = soup.find("h2", string=N.w("section.drivers", tree=N.w("tree.orders")))
    assert cards == expect
    for text in expect:
        assert text in findings
    for text in expect[:4]:
        assert text in index
    for text in ytd:  # how the year is tracking, in the findings
        assert text in findings, text
    assert on_base in findings
    # the driver tree's table: every driver alone changes by the target on the stated base, and
    # shared evenly by the change the action gives on that base, at the levels it names
    rows = [
        [td.get_text() for td in tr.select("td")]
        for tr in tree.find_next("table").select("tbody tr")
    ]
    assert rows and {r[3] for r in rows} == {on_base} and {r[5] for r in rows} == {shared}
    todo = " ".join(li.get_text() for li in soup.select(".wb-todo li"))
    assert beyond in todo and all(s in todo for s in said)
    for r in rows:
        assert r[4] in todo  # the shared level of each driver, as in the table
    # the forecast chart draws the actuals and says so
    alts = " ".join(img.get("alt", "") for img in soup.select("img"))
    assert "1998-01" in alts and "1998-06" in alts
