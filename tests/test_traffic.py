"""Traffic-source quality against an independent pandas computation."""

import datetime as dt

import pandas as pd
import pytest

from analysis_lib.analyses import traffic
from analysis_lib.core import data


def test_channel_quality_equals_pandas(sample_dir):
    start, end = dt.date(2025, 10, 1), dt.date(2025, 12, 31)
    got = traffic.channel_quality(data.connect(str(sample_dir)), start, end).set_index("channel")
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    e = pd.read_parquet(sample_dir / "events")
    e = e[(e.event_ts >= lo) & (e.event_ts < hi)]
    o = pd.read_parquet(sample_dir / "orders")
    o = o[o.status.isin(["paid", "refunded"])]
    first = o.groupby("user_id").order_ts.min()
    cur = o[(o.order_ts >= lo) & (o.order_ts < hi)]
    s = pd.read_parquet(sample_dir / "marketing_spend.parquet")
    s = s[(pd.to_datetime(s.date) >= lo) & (pd.to_datetime(s.date) < hi)]
    for ch in ["search", "organic"]:
        ev = e[e.channel == ch]
        sess = ev.groupby("session_id").event.agg(["size", lambda x: (x == "page_view").sum()])
        bounce = ((sess["size"] == 1) & (sess.iloc[:, 1] == 1)).mean()
        oc = cur[cur.channel == ch]
        assert got.loc[ch, "uv"] == ev.user_id.nunique()
        assert got.loc[ch, "bounce_rate"] == pytest.approx(bounce)
        assert got.loc[ch, "conversion_rate"] == pytest.approx(
            oc.user_id.nunique() / ev.user_id.nunique()
        )
        assert got.loc[ch, "gmv_per_uv"] == pytest.approx(oc.gmv.sum() / ev.user_id.nunique())
        new = oc[oc.order_ts == oc.user_id.map(first)].user_id.nunique()
        assert got.loc[ch, "new_customers"] == new
        spend = s[s.channel == ch].spend.sum()
        if spend:
            assert got.loc[ch, "cac"] == pytest.approx(spend / new)
            assert got.loc[ch, "roas"] == pytest.approx(oc.gmv.sum() / spend)


def test_no_channel_column_gives_an_empty_table(tmp_path, sample_dir):
    """``channel`` is optional: without it in events there is nothing to compare."""
    for t in ("events", "orders"):
        df = pd.read_parquet(sample_dir / t)
        if t == "events":
            df = df.drop(columns="channel")
        df.to_parquet(tmp_path / f"{t}.parquet")
    src = data.connect(str(tmp_path))
    got = traffic.channel_quality(src, dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    assert got.empty and list(got.columns) == traffic.COLUMNS


def test_no_orders_table_gives_an_empty_table_and_says_why(tmp_path, sample_dir):
    """An event log alone (no orders table): conversion, AOV, GMV per UV and ROAS need orders, so
    the table is empty and the report says why (before: "table 'orders' not found")."""
    (tmp_path / "events").symlink_to(sample_dir / "events")
    src = data.connect(str(tmp_path))
    assert not traffic.has_channels(src)
    got = traffic.channel_quality(src, dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    assert got.empty and list(got.columns) == traffic.COLUMNS
    assert traffic.why_not(src) == "orders"
    assert traffic.why_not(data.connect(str(sample_dir))) is None


def test_no_channel_column_is_the_reason(tmp_path, sample_dir):
    """With orders but no channel in events, the reason is the missing column, not the table."""
    (tmp_path / "orders").symlink_to(sample_dir / "orders")
    df = pd.read_parquet(sample_dir / "events").drop(columns="channel")
    df.to_parquet(tmp_path / "events.parquet")
    assert traffic.why_not(data.connect(str(tmp_path))) == "channel"
