import pandas as pd
import pytest

from analysis_lib import data as D
from analysis_lib.errors import DataError


def _orders(**over):
    df = pd.DataFrame(
        {
            "order_id": ["o1"],
            "user_id": ["u1"],
            "order_ts": pd.to_datetime(["2025-01-01 10:00"]),
            "gmv": [10.0],
            "status": ["paid"],
        }
    )
    for k, v in over.items():
        if v is None:
            df = df.drop(columns=k)
        else:
            df[k] = v
    return df


def test_folder_of_parquet_and_csv(tmp_path):
    _orders().to_parquet(tmp_path / "orders.parquet")
    pd.DataFrame(
        {"event_ts": ["2025-01-01 10:00:00"], "user_id": ["u1"], "event": ["page_view"]}
    ).to_csv(tmp_path / "events.csv", index=False)
    src = D.connect(str(tmp_path))
    assert src.names() == ["events", "orders"]
    D.check_tables(src, {"orders": None, "events": None})
    assert src.execute(src.table("events").count()) == 1


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="data.url: folder not found"):
        D.connect(str(tmp_path / "nope"))


def test_missing_table(tmp_path):
    _orders().to_parquet(tmp_path / "orders.parquet")
    src = D.connect(str(tmp_path))
    with pytest.raises(DataError, match="table 'events' not found"):
        D.check_tables(src, {"events": None})


def test_missing_column_names_file_table_and_column(tmp_path):
    _orders(gmv=None).to_parquet(tmp_path / "orders.parquet")
    src = D.connect(str(tmp_path))
    with pytest.raises(DataError) as exc:
        D.check_tables(src, {"orders": None})
    assert (
        str(exc.value)
        == f"{tmp_path / 'orders.parquet'}: table 'orders' is missing required column 'gmv'"
    )


def test_wrong_type(tmp_path):
    _orders(gmv=["ten"]).to_parquet(tmp_path / "orders.parquet")
    src = D.connect(str(tmp_path))
    with pytest.raises(DataError, match=r"column 'orders.gmv' has type .*expected number"):
        D.check_tables(src, {"orders": None})


def test_optional_table_checked_only_when_present(tmp_path):
    _orders().to_parquet(tmp_path / "orders.parquet")
    src = D.connect(str(tmp_path))
    D.check_tables(src, {"orders": None}, {"targets": None})
    pd.DataFrame({"period": ["2025-01"], "metric": ["gmv"]}).to_parquet(
        tmp_path / "targets.parquet"
    )
    src = D.connect(str(tmp_path))
    with pytest.raises(DataError, match="missing required column 'target_value'"):
        D.check_tables(src, {"orders": None}, {"targets": None})


def test_backend_url_passes_through(tmp_path):
    import duckdb

    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "create table orders as select 'o1' as order_id, 'u1' as user_id, "
        "timestamp '2025-01-01' as order_ts, 10.0 as gmv, 'paid' as status"
    )
    con.close()
    src = D.connect(f"duckdb://{db}")
    D.check_tables(src, {"orders": None})
    assert src.execute(src.table("orders").gmv.sum()) == 10.0


def test_fingerprint_changes_with_data(tmp_path):
    _orders().to_parquet(tmp_path / "orders.parquet")
    a = D.fingerprint(str(tmp_path))
    assert a == D.fingerprint(str(tmp_path))
    _orders(gmv=[11.0]).to_parquet(tmp_path / "orders.parquet")
    assert D.fingerprint(str(tmp_path)) != a


def test_a_shop_in_csv_gives_the_parquet_figures(tmp_path, sample_dir):
    """The same shop exported to CSV (how many analysts receive data) reads with the same types
    and gives the same KPI totals and funnel counts as the Parquet original."""
    import datetime as dt

    from analysis_lib import funnel as F
    from analysis_lib import kpi

    for p in sample_dir.iterdir():
        if p.suffix in (".json", ".lock"):
            continue
        name = p.stem if p.is_file() else p.name
        pd.read_parquet(p).to_csv(tmp_path / f"{name}.csv", index=False)
    pq, csv = D.connect(str(sample_dir)), D.connect(str(tmp_path))
    assert pq.names() == csv.names()
    start, end = dt.date(2025, 10, 1), dt.date(2025, 12, 31)
    a, b = kpi.kpi_totals(pq, start, end), kpi.kpi_totals(csv, start, end)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-9), k
    spec = F.FunnelSpec(("page_view", "product_view", "add_to_cart", "checkout", "purchase"))
    assert F.counts(pq, spec, start, end, "device").equals(
        F.counts(csv, spec, start, end, "device")
    )


def _aware_shop(tmp_path, sample_dir, zone: str):
    """The sample shop with order and event times stored time-zone-aware: the same wall-clock
    times, as instants in ``zone``."""
    folder = tmp_path / "aware"
    folder.mkdir()
    for t, col in (("orders", "order_ts"), ("events", "event_ts")):
        df = pd.read_parquet(sample_dir / t)
        df[col] = df[col].dt.tz_localize(zone)
        df.to_parquet(folder / f"{t}.parquet")
    return folder


KPI_CODE = """
import datetime as dt, json, sys
from analysis_lib import data, kpi
src = data.connect(sys.argv[1], sys.argv[2])
q = (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
s = kpi.kpi_series(src, *q, "week")
print(json.dumps({"totals": kpi.kpi_totals(src, *q), "weekly_gmv": s["gmv"].round(6).tolist()}))
"""


def _kpis(folder, zone: str, machine_tz: str) -> dict:
    """KPI totals and weekly GMV computed in a process whose machine time zone is ``machine_tz``."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "TZ": machine_tz}
    out = subprocess.run(
        [sys.executable, "-c", KPI_CODE, str(folder), zone],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_time_zone_aware_times_count_in_the_shop_zone(tmp_path, sample_dir):
    """Zone-aware timestamps are read as wall-clock times in ``data.timezone``: the figures equal
    those of the naive wall-clock data, whatever the machine's own zone."""
    want = _kpis(sample_dir, "UTC", "UTC")
    aware = _aware_shop(tmp_path, sample_dir, "Asia/Shanghai")
    assert _kpis(aware, "Asia/Shanghai", "America/New_York") == want
    # read in another zone, days shift by eight hours: weekly GMV moves between weeks
    shifted = _kpis(aware, "UTC", "Asia/Shanghai")
    assert shifted["weekly_gmv"] != want["weekly_gmv"]
    assert shifted == _kpis(aware, "UTC", "UTC")  # and never depends on the machine


def test_unknown_time_zone_named_with_a_hint():
    from analysis_lib import params as P

    with pytest.raises(P.ParamsError, match=r"data.timezone.*'Asia/Shangai'.*Asia/Shanghai"):
        P.validate(
            {
                "notebook": "kpi_monitor",
                "title": "t",
                "data": {"url": "x", "timezone": "Asia/Shangai"},
                "period": {"start": "2025-10-01", "end": "2025-10-31"},
            },
            "p.yaml",
        )


def test_month_key_accepts_months_and_dates_and_names_the_rest():
    got = D.month_key(pd.Series(["2025-01", "2025-02-01", " 2025-03-15 ", "2025-04-30T10:00"]), "w")
    assert got.tolist() == ["2025-01", "2025-02", "2025-03", "2025-04"]
    dates = pd.Series(pd.to_datetime(["2025-05-01", "2025-06-17"]))
    assert D.month_key(dates, "w").tolist() == ["2025-05", "2025-06"]
    assert D.month_key(pd.Series(["2025/07", "2025"]), "w").tolist() == ["2025-07", "2025"]
    for bad in ("25", "Q3-2025", "2025-13", "07/2025"):
        with pytest.raises(DataError, match=rf"^x.csv: period '{bad}' is not a month or a year"):
            D.month_key(pd.Series(["2025-06", bad]), "x.csv")


def test_targets_and_market_with_dated_periods_give_the_same_figures(tmp_path, sample_dir):
    """Periods written as the first day of the month (text or a date column) are the same months."""
    from analysis_lib import kpi, market

    shop = tmp_path / "shop"
    shop.mkdir()
    for p in sample_dir.iterdir():
        if p.name not in ("targets.parquet", "market.parquet"):
            (shop / p.name).symlink_to(p)
    t = pd.read_parquet(sample_dir / "targets.parquet")
    t.assign(period=t.period + "-01").to_parquet(shop / "targets.parquet")
    m = pd.read_parquet(sample_dir / "market.parquet")
    m.assign(period=pd.to_datetime(m.period + "-01").dt.date).to_parquet(shop / "market.parquet")
    a, b = D.connect(str(sample_dir)), D.connect(str(shop))
    pd.testing.assert_frame_equal(kpi.load_targets(a), kpi.load_targets(b))
    ma, mb = market.load(a)[0], market.load(b)[0]
    pd.testing.assert_frame_equal(ma.drop(columns="period"), mb.drop(columns="period"))
    assert ma.period.tolist() == mb.period.tolist()
