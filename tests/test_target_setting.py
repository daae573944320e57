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
    base = T.feasibility(fc, 1.0, months)["baseline_forecast_total"]
    assert T.feasibility(fc, base * 0.5, months)["p_reach_target"] > 0.95
    assert T.feasibility(fc, base * 2.0, months)["p_reach_target"] < 0.05
    assert T.feasibility(fc, base, months)["required_uplift"] == pytest.approx(0.0, abs=1e-9)


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
