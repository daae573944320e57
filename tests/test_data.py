import pandas as pd
import pytest

from analysis_lib.core import data as D
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

    from analysis_lib.analyses import funnel as F
    from analysis_lib.analyses import kpi

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
from analysis_lib.core import data
from analysis_lib.analyses import kpi
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
    from analysis_lib.analyses import kpi, market

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


US_ORDERS = (
    "order_id,user_id,order_ts,gmv,status\n"
    "o1,u1,10/02/2025 10:00:00,1.0,paid\n"
    "o2,u2,11/03/2025 11:30:00,2.0,paid\n"
    "o3,u3,12/11/2025 09:15:00,3.0,paid\n"
)
US_CAMPAIGNS = "campaign_id,name,start_date,end_date\nC1,Sale,10/02/2025,10/05/2025\n"


def test_ambiguous_csv_dates_are_refused_with_the_fix(tmp_path):
    """US dates where every day is 12 or less read as day/month by DuckDB's sniffer (October 2nd
    became February 10th): such a column is refused, naming file, column and the fix."""
    (tmp_path / "orders.csv").write_text(US_ORDERS)
    (tmp_path / "campaigns.csv").write_text(US_CAMPAIGNS)
    src = D.connect(str(tmp_path))
    for table, col, example in (
        ("orders", "order_ts", "12/11/2025 09:15:00"),
        ("campaigns", "start_date", "10/02/2025"),
    ):
        with pytest.raises(DataError) as exc:
            src.table(table)
        assert str(exc.value) == (
            f"{tmp_path / f'{table}.csv'}: column '{table}.{col}' has dates like '{example}' "
            "that read both as day/month and as month/day (no value above 12 tells which); set "
            "data.date_format (e.g. '%m/%d/%Y' or '%d/%m/%Y') or write ISO dates (YYYY-MM-DD)"
        )


@pytest.mark.parametrize(
    ("fmt", "days"),
    [
        ("%m/%d/%Y", ["2025-10-02", "2025-11-03", "2025-12-11"]),
        ("%d/%m/%Y", ["2025-02-10", "2025-03-11", "2025-11-12"]),
    ],
)
def test_date_format_reads_csv_dates_as_told(tmp_path, fmt, days):
    """``data.date_format`` is applied when reading CSVs (timestamps: the same date, then
    %H:%M:%S); a file in ISO dates in the same folder is read as it is."""
    (tmp_path / "orders.csv").write_text(US_ORDERS)
    (tmp_path / "campaigns.csv").write_text(US_CAMPAIGNS)
    (tmp_path / "events.csv").write_text(
        "event_ts,user_id,event\n2025-10-02 10:00:00,u1,page_view\n"
    )
    src = D.connect(str(tmp_path), date_format=fmt)
    D.check_tables(src, {"orders": None, "campaigns": None, "events": None})
    o = src.execute(src.table("orders").order_by("order_id"))
    assert o.order_ts.dt.strftime("%Y-%m-%d").tolist() == days
    assert o.order_ts.dt.strftime("%H:%M").tolist() == ["10:00", "11:30", "09:15"]
    c = src.execute(src.table("campaigns"))
    assert str(c.start_date.iloc[0])[:10] == days[0]
    ev = src.table("events")
    assert ev.schema()["event_ts"].timezone is None
    assert str(src.execute(ev).event_ts.iloc[0]) == "2025-10-02 10:00:00"
    # the same through a params file's data spec
    from analysis_lib.params import DataSpec

    spec = DataSpec(url=str(tmp_path), date_format=fmt)
    assert src.execute(D.connect(spec).table("orders").order_ts.min()) == o.order_ts.min()


def test_timestamp_format_and_certain_dates(tmp_path):
    """Times without seconds need ``data.timestamp_format``; a date column where a day above 12
    settles the order is read right without any format (DuckDB's sniffer is then certain)."""
    (tmp_path / "orders.csv").write_text(
        "order_id,user_id,order_ts,gmv,status\no1,u1,10/02/2025 10:00,1.0,paid\n"
    )
    (tmp_path / "campaigns.csv").write_text(
        "campaign_id,name,start_date,end_date\nC1,Sale,10/13/2025,10/15/2025\n"
    )
    src = D.connect(str(tmp_path))
    c = src.execute(src.table("campaigns"))
    assert [str(c.start_date.iloc[0])[:10], str(c.end_date.iloc[0])[:10]] == [
        "2025-10-13",
        "2025-10-15",
    ]
    with pytest.raises(
        DataError,
        match=r"has type string, expected timestamp \(values like '10/02/2025 10:00', not ISO\): set data.date_format",
    ):
        D.check_tables(src, {"orders": None})
    src = D.connect(str(tmp_path), date_format="%m/%d/%Y", timestamp_format="%m/%d/%Y %H:%M")
    assert str(src.execute(src.table("orders")).order_ts.iloc[0]) == "2025-10-02 10:00:00"


def test_redact_url():
    """Passwords and secret query values are masked; everything else is kept."""
    cases = {
        "postgres://analyst:s3cret@host/db": "postgres://analyst:***@host/db",
        "postgres://analyst:p@ss/w0rd@db.corp:5432/shop?sslmode=require": "postgres://analyst:***@db.corp:5432/shop?sslmode=require",
        "trino://analyst@host:8080/hive?password=s3cret&schema=x": "trino://analyst@host:8080/hive?password=***&schema=x",
        "bigquery://project?credentials_json=abc": "bigquery://project?credentials_json=***",
        "postgres://analyst@host/db": "postgres://analyst@host/db",
        "duckdb:///home/me@corp/shop.duckdb": "duckdb:///home/me@corp/shop.duckdb",
        "/data/shop@2025": "/data/shop@2025",
    }
    for url, want in cases.items():
        assert D.redact_url(url) == want
    p = {"title": "t", "data": {"url": "postgres://analyst:s3cret@host/db", "timezone": "UTC"}}
    assert D.redact_params(p)["data"] == {
        "url": "postgres://analyst:***@host/db",
        "timezone": "UTC",
    }
    assert p["data"]["url"].endswith("s3cret@host/db")  # the notebook still gets the real one


@pytest.mark.parametrize(
    "url",
    [
        "postgres://analyst:s3cret@127.0.0.1:1/db",
        "duckdb://analyst:s3cret@/nonexistent/folder/shop.duckdb",  # the driver quotes it
    ],
)
def test_password_is_not_echoed(tmp_path, url):
    """A data URL with a password that fails to connect: one line on stderr, exit 3, the
    password masked (before: echoed as typed, in the message and in the driver's own text)."""
    import json
    import subprocess
    import sys

    doc = {
        "notebook": "kpi_monitor",
        "title": "t",
        "data": {"url": url},
        "period": {"start": "2025-10-01", "end": "2025-10-31"},
    }
    (tmp_path / "p.yaml").write_text(json.dumps(doc))
    for cmd in ("validate", "run"):
        proc = subprocess.run(
            [sys.executable, "-m", "analysis_lib.run.cli", cmd, "p.yaml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 3, proc.stderr
        assert "s3cret" not in proc.stderr + proc.stdout
        assert "analyst:***@" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_provenance_masks_the_password():
    from analysis_lib.present import blocks

    html = str(blocks.provenance({"data": {"url": "postgres://analyst:s3cret@host/db"}}, "x"))
    assert "s3cret" not in html and "analyst:***@host/db" in html


def test_dates_settled_but_times_ambiguous_are_refused(tmp_path):
    """DuckDB settles the order of a file's dates and of its timestamps separately: dates made
    certain by a day above 12 do not vouch for the file's ambiguous timestamps (which it reads
    day first)."""
    (tmp_path / "campaigns.csv").write_text(
        "campaign_id,name,start_date,end_date,launched_ts\n"
        "C1,Sale,10/13/2025,10/15/2025,10/02/2025 10:00:00\n"
    )
    with pytest.raises(
        DataError, match=r"column 'campaigns.launched_ts' has dates like '10/02/2025 10:00:00'"
    ):
        D.connect(str(tmp_path)).table("campaigns")


def test_numeric_ids_are_read_as_text_and_still_join(tmp_path):
    """Ids DuckDB reads as numbers (a CSV's integer ids, quoted or not; float customer ids with
    NaN for guests) are read as text: the canonical checks pass, an integer id and the same id
    as a float join, and the data-quality section says what was done."""
    from analysis_lib.core import quality

    (tmp_path / "orders.csv").write_text(
        "order_id,user_id,order_ts,gmv,status\n"
        '"1001",12346,2025-10-02 10:00:00,120.5,paid\n'
        '"1002",12347,2025-10-03 11:00:00,80.0,paid\n'
        '"1003",12346,2025-10-04 12:00:00,40.0,refunded\n'
    )
    pd.DataFrame(
        {
            "user_id": [12346.0, 12347.0, float("nan"), float("inf"), 1e20],
            "signup_ts": pd.to_datetime(
                ["2025-01-01", "2025-02-01", "2025-03-01", "2025-03-02", "2025-03-03"]
            ),
        }
    ).to_parquet(tmp_path / "users.parquet")
    src = D.connect(str(tmp_path))
    D.check_tables(src, {"orders": None, "users": None})
    orders, users = src.table("orders"), src.table("users")
    assert orders.schema()["order_id"].is_string() and orders.schema()["user_id"].is_string()
    ids = sorted(src.execute(users.user_id).dropna())
    assert ids[:2] == ["12346", "12347"] and len(ids) == 4  # inf and 1e20 kept as written
    assert src.execute(users.user_id.isnull().sum()) == 1
    joined = orders.join(users, "user_id")
    assert src.execute(joined.count()) == 3
    assert src.execute(orders.user_id.nunique()) == 2
    found = {(f.table, f.check): f for f in quality.scan(src, ["orders", "users"])}
    note = found[("orders", "user_id stored as a number (int64)")]
    assert note.rows == note.total == 3
    assert ("users", "user_id stored as a number (float64)") in found
    assert ("orders", "order_id stored as a number (int64)") in found


@pytest.mark.e2e
def test_duckdb_file_validates_and_runs(tmp_path):
    """A ``duckdb:///shop.duckdb`` source is opened read-only, so the CLI (validating) and the
    kernel (reading) can both open it: before, ``validate`` passed and ``run`` always failed on
    the file's lock. The file is not changed by the run."""
    import hashlib
    import subprocess
    import sys
    from pathlib import Path

    import duckdb

    base = Path(__file__).parent / "bad_inputs" / "_base_data"
    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    for table in ("orders", "events"):
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{base / table}.csv')")
    con.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    (tmp_path / "p.yaml").write_text(
        "notebook: kpi_monitor\ntitle: DuckDB file\n"
        f"data: {{url: 'duckdb://{db}'}}\n"
        "period: {start: 2025-10-01, end: 2025-10-31}\ngrain: week\n"
    )
    for args in (["validate", "p.yaml"], ["run", "p.yaml", "--out", "reports"]):
        r = subprocess.run(
            [sys.executable, "-m", "analysis_lib.run.cli", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "reports" / "kpi_monitor" / "p" / "report.html").is_file()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
