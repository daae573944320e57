"""KPI computations against an independent pandas computation on scale-s sample data."""

import datetime as dt

import pandas as pd
import pytest

from analysis_lib import data, kpi

START, END = dt.date(2025, 10, 1), dt.date(2025, 12, 31)


def pandas_kpis(folder, start, end) -> dict:
    o = pd.read_parquet(folder / "orders")
    e = pd.read_parquet(folder / "events")
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    valid = o[o.status.isin(["paid", "refunded"])]
    cur = valid[(valid.order_ts >= lo) & (valid.order_ts < hi)]
    first = valid.groupby("user_id").order_ts.min()
    buyers = cur.user_id.unique()
    uv = e[(e.event_ts >= lo) & (e.event_ts < hi)].user_id.nunique()
    gmv = cur.gmv.sum()
    return {
        "gmv": gmv,
        "orders": len(cur),
        "buyers": len(buyers),
        "aov": gmv / len(cur),
        "uv": uv,
        "conversion_rate": len(buyers) / uv,
        "refund_rate": cur.loc[cur.status == "refunded", "gmv"].sum() / gmv,
        "new_buyers": int((first.loc[buyers] >= lo).sum()),
    }


@pytest.mark.parametrize("start,end", [(START, END), (dt.date(2024, 2, 29), dt.date(2024, 3, 3))])
def test_totals_equal_pandas(sample_dir, start, end):
    src = data.connect(str(sample_dir))
    got = kpi.kpi_totals(src, start, end)
    want = pandas_kpis(sample_dir, start, end)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9), k


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_series_sums_to_totals(sample_dir, grain):
    src = data.connect(str(sample_dir))
    s = kpi.kpi_series(src, START, END, grain)
    tot = kpi.kpi_totals(src, START, END)
    assert s["gmv"].sum() == pytest.approx(tot["gmv"])
    assert s["orders"].sum() == tot["orders"]
    assert s["bucket"].is_monotonic_increasing
    expected_buckets = {"day": 92, "week": 14, "month": 3}[grain]
    assert len(s) == expected_buckets


def test_monthly_series_equals_pandas(sample_dir):
    src = data.connect(str(sample_dir))
    s = kpi.kpi_series(src, START, END, "month").set_index("bucket")
    for month_start in pd.date_range(START, END, freq="MS"):
        want = pandas_kpis(
            sample_dir, month_start.date(), (month_start + pd.offsets.MonthEnd(0)).date()
        )
        row = s.loc[month_start]
        for k in ["gmv", "orders", "buyers", "uv", "conversion_rate"]:
            assert row[k] == pytest.approx(want[k]), (month_start, k)


def test_shifted_periods():
    assert kpi.shifted_period(START, END, "pop") == (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    assert kpi.shifted_period(dt.date(2024, 2, 29), dt.date(2024, 3, 1), "yoy") == (
        dt.date(2023, 2, 28),
        dt.date(2023, 3, 1),
    )


def test_decomposition_adds_up_exactly():
    cur = {"gmv": 1200.0, "uv": 1000, "conversion_rate": 0.05, "orders_per_buyer": 1.2, "aov": 20.0}
    prev = {"gmv": 810.0, "uv": 900, "conversion_rate": 0.05, "orders_per_buyer": 1.0, "aov": 18.0}
    d = kpi.gmv_decomposition(cur, prev).set_index("driver")
    assert d["contribution"].sum() == pytest.approx(390.0)
    assert d.loc["conversion_rate", "contribution"] == pytest.approx(
        0.0
    )  # unchanged driver adds nothing
    assert d.loc["uv", "contribution"] > 0


def test_targets_prorated_by_days():
    tg = pd.DataFrame(
        {
            "period": ["2025-01", "2025-02"],
            "metric": ["gmv", "gmv"],
            "target_value": [3100.0, 2800.0],
        }
    )
    t = kpi.targets_for_period(tg, dt.date(2025, 1, 30), dt.date(2025, 2, 2))
    # 2 days of January at 100/day + 2 days of February at 100/day
    assert t.iloc[0]["target"] == pytest.approx(400.0)
    assert t.iloc[0]["days_covered"] == 4
    tva = kpi.target_vs_actual({"gmv": 380.0}, t, 4)
    assert tva.iloc[0]["deviation_rate"] == pytest.approx(-0.05)
    assert bool(tva.iloc[0]["complete"])


def test_findings_generated_from_numbers(sample_dir):
    src = data.connect(str(sample_dir))
    tot = kpi.kpi_totals(src, START, END)
    prev = kpi.kpi_totals(src, *kpi.shifted_period(START, END, "pop"))
    ly = kpi.kpi_totals(src, *kpi.shifted_period(START, END, "yoy"))
    tg = kpi.load_targets(src)
    tva = kpi.target_vs_actual(tot, kpi.targets_for_period(tg, START, END), 92)
    f = kpi.findings(tot, prev, ly, kpi.gmv_decomposition(tot, prev), tva, START, END, "en")
    assert f"{tot['gmv']:,.0f}" in f[0]
    assert f"{(tot['gmv'] / prev['gmv'] - 1) * 100:+.1f}%" in f[0]
    zh = kpi.findings(tot, prev, ly, kpi.gmv_decomposition(tot, prev), tva, START, END, "zh")
    assert "环比" in zh[0]
