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
    assert (f["p_reach_target"] < 0.5) == (f["target_total"] > f["baseline_forecast_total"])
    assert f["baseline_lo"] < f["baseline_forecast_total"] < f["baseline_hi"]
    assert f["baseline_mean"] > f["baseline_forecast_total"]  # CDNOW: skewed; the median is shown
    assert 1 + f["uplift_on_last12"] == pytest.approx(
        (1 + f["baseline_change_on_last12"]) * (1 + f["required_uplift"])
    )
    assert sum(f["monthly_targets"].values()) == pytest.approx(f["target_total"], abs=0.01)
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
        ]
        on_base = fmt(f["uplift_on_last12"], "signed_pct")
        # CDNOW has no visits: GMV = orders x AOV
        tree = soup.find("h2", string=N.w("section.drivers", tree=N.w("tree.orders")))
    assert cards == expect
    for text in expect:
        assert text in findings
        assert text in index
    assert on_base in findings
    # the driver tree's table: every driver alone changes by the target on the stated base
    changes = [tr.select("td")[-1].get_text() for tr in tree.find_next("table").select("tbody tr")]
    assert changes and set(changes) == {on_base}
    assert soup.select(".wb-todo li")  # the target is above the median: which driver, how much
