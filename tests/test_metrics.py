import ibis
import pandas as pd
import pytest

from analysis_lib.core import metrics as M


@pytest.fixture()
def tiny():
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5"],
            "user_id": ["a", "a", "b", "c", "d"],
            "order_ts": pd.to_datetime(["2025-01-01"] * 5),
            "gmv": [100.0, 50.0, 30.0, 20.0, 999.0],
            "status": ["paid", "refunded", "paid", "paid", "cancelled"],
        }
    )
    return orders


def test_order_aggregates_hand_computed(tiny):
    con = ibis.duckdb.connect()
    t = M.valid_orders(ibis.memtable(tiny))
    row = con.execute(t.aggregate(**M.order_aggregates(t))).iloc[0]
    # cancelled o5 excluded: GMV 100+50+30+20, 4 orders, buyers a,b,c, refunded 50
    assert row["gmv"] == 200.0
    assert row["orders"] == 4
    assert row["buyers"] == 3
    assert row["refunded_gmv"] == 50.0


def test_ratios_hand_computed():
    df = M.add_ratios(
        pd.DataFrame(
            {"gmv": [200.0], "orders": [4], "buyers": [3], "refunded_gmv": [50.0], "uv": [12]}
        )
    )
    assert df["aov"][0] == pytest.approx(50.0)
    assert df["conversion_rate"][0] == pytest.approx(0.25)
    assert df["refund_rate"][0] == pytest.approx(0.25)
    assert df["orders_per_buyer"][0] == pytest.approx(4 / 3)


def test_division_by_zero_is_nan():
    assert pd.isna(M.aov(10, 0))
    s = M.conversion_rate(pd.Series([1, 2]), pd.Series([0, 4]))
    assert pd.isna(s[0]) and s[1] == 0.5


def test_deviation_rate():
    assert M.deviation_rate(95, 100) == pytest.approx(-0.05)
    assert M.deviation_rate(120, 100) == pytest.approx(0.2)


def test_labels_in_both_languages():
    assert M.label("aov", "en") == "AOV"
    assert M.label("aov", "zh") == "客单价"
    assert M.label("unknown_metric", "zh") == "unknown_metric"
