"""The sample data is deterministic and its planted effects can be found in the raw tables."""

import json

import pandas as pd
import pytest

from analysis_lib.sample import sample_data


def test_deterministic_for_a_seed(tmp_path):
    a = sample_data.generate(tmp_path / "a", "s", 3)
    b = sample_data.generate(tmp_path / "b", "s", 3)
    assert a == b
    for table in ["orders", "events", "users"]:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "a" / table), pd.read_parquet(tmp_path / "b" / table)
        )
    c = sample_data.generate(tmp_path / "c", "s", 4)
    assert c["orders"] != a["orders"]


def test_every_canonical_table_written(sample_dir):
    from analysis_lib.core import data

    src = data.connect(str(sample_dir))
    for table in data.CANONICAL:
        data.check_table(src, table)


def test_planted_leak_visible_in_events(sample_dir, truth):
    e = pd.read_parquet(
        sample_dir / "events", columns=["event_ts", "event", "session_id", "device"]
    )
    leak = truth["funnel"]["leak"]
    e = e[e.device == leak["device"]]
    start = pd.Timestamp(leak["start"])
    rates = {}
    for key, sel in {"before": e.event_ts < start, "after": e.event_ts >= start}.items():
        s = e[sel]
        checkout = s.loc[s.event == "checkout", "session_id"].nunique()
        purchase = s.loc[s.event == "purchase", "session_id"].nunique()
        rates[key] = purchase / checkout
    assert rates["after"] / rates["before"] == pytest.approx(leak["mult"], abs=0.2)


def test_campaign_truth_consistent(truth):
    c = truth["campaigns"]["C2025_1111"]
    inc = c["incremental_gmv"]
    assert inc["net"] == pytest.approx(inc["preheat"] + inc["burst_and_return"] + inc["post"])
    assert inc["burst_and_return"] > 0 > inc["post"]
    assert c["post_dip_gmv"] == pytest.approx(-inc["post"])


def test_stockout_and_slow_movers(sample_dir, truth):
    inv = pd.read_parquet(sample_dir / "inventory.parquet")
    p = truth["products"]
    after = inv[
        (inv.sku == p["stockout_sku"])
        & (pd.to_datetime(inv.date) >= pd.Timestamp(p["stockout_from"]))
    ]
    assert len(after) > 0 and (after.on_hand == 0).all()
    items = pd.read_parquet(sample_dir / "order_items")
    orders = pd.read_parquet(sample_dir / "orders", columns=["order_id", "order_ts"])
    late = items.merge(orders, on="order_id")
    late = late[late.order_ts >= pd.Timestamp(p["slow_from"])]
    assert not late.sku.isin(p["slow_movers"]).any()


def test_truth_json_is_written(sample_dir):
    t = json.loads((sample_dir / "truth.json").read_text())
    assert t["experiment"]["expected_relative_lift"] > 0


def test_users_simulated_in_chunks_write_parts_that_add_up(tmp_path, monkeypatch):
    """Scale m and l never hold more than one chunk: each chunk writes its own part, ids stay
    unique across parts, and truth.json counts what the parts hold."""
    monkeypatch.setitem(sample_data.SCALES, "s", {**sample_data.SCALES["s"], "chunk": 4000})
    truth = sample_data.generate(tmp_path, "s", 1)
    parts = sorted(p.name for p in (tmp_path / "orders").iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    orders = pd.read_parquet(tmp_path / "orders")
    users = pd.read_parquet(tmp_path / "users", columns=["user_id"])
    events = pd.read_parquet(tmp_path / "events", columns=["session_id"])
    items = pd.read_parquet(tmp_path / "order_items", columns=["order_id"])
    assert len(orders) == truth["orders"] and len(events) == truth["events"]
    assert orders.order_id.is_unique and users.user_id.is_unique
    assert len(users) == truth["users"]
    assert set(items.order_id) == set(orders.order_id)
