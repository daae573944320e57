import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis_lib.core import data as D
from analysis_lib.core import quality as Q
from analysis_lib.errors import DataError
from analysis_lib.present import blocks
from analysis_lib.present.context import use

Q4 = (dt.date(2025, 10, 1), dt.date(2025, 12, 31))


def _shop(tmp_path, sample_dir, **frames):
    """A copy of the sample shop with some tables replaced."""
    folder = tmp_path / "shop"
    folder.mkdir()
    for p in sample_dir.iterdir():
        name = p.stem if p.is_file() else p.name
        if name in frames or p.suffix == ".json" or p.suffix == ".lock":
            continue
        (folder / p.name).symlink_to(p)
    for name, df in frames.items():
        df.to_parquet(folder / f"{name}.parquet")
    return D.connect(str(folder))


def _counts(findings):
    return {(f.table, f.check): f.rows for f in findings}


def test_scan_counts_what_was_planted(tmp_path, sample_dir):
    rng = np.random.default_rng(7)
    inv = pd.read_parquet(sample_dir / "inventory.parquet")
    neg = rng.choice(len(inv), 17, replace=False)
    inv.loc[neg, "on_hand"] = -3
    ev = pd.read_parquet(sample_dir / "events")
    in_q4 = ev[(ev.event_ts >= "2025-10-01") & (ev.event_ts < "2026-01-01")]
    dups = in_q4.sample(25, random_state=1)
    ev = pd.concat([ev, dups], ignore_index=True)
    ev.loc[ev.sample(40, random_state=2).index, "channel"] = None
    orders = pd.read_parquet(sample_dir / "orders")
    orders["refund_amount"] = 0.0
    q4 = orders.index[(orders.order_ts >= "2025-10-01") & (orders.order_ts < "2026-01-01")]
    over = q4[:9]
    orders.loc[over, "refund_amount"] = orders.loc[over, "gmv"] + 1
    orders.loc[q4[20:24], "status"] = "pending"
    src = _shop(tmp_path, sample_dir, inventory=inv, events=ev, orders=orders)

    found = Q.scan(src, ["orders", "events", "inventory"], *Q4)
    c = _counts(found)
    d = pd.to_datetime(inv.date)
    inv_q4 = inv[(d >= "2025-10-01") & (d < "2026-01-01")]
    assert c[("inventory", "negative stock")] == int((inv_q4.on_hand < 0).sum()) > 0
    assert c[("events", "duplicate event (same user, time, event)")] == 25
    ev_q4 = ev[(ev.event_ts >= "2025-10-01") & (ev.event_ts < "2026-01-01")]
    assert c[("events", "missing channel")] == int(ev_q4.channel.isna().sum())
    assert c[("orders", "refund above the amount paid")] == 9
    assert c[("orders", "status not paid, refunded or cancelled")] == 4
    totals = {f.table: f.total for f in found}
    assert totals["events"] == len(ev_q4)


def test_scan_on_clean_sample_finds_no_negatives(sample_dir):
    src = D.connect(str(sample_dir))
    c = _counts(Q.scan(src, ["inventory", "marketing_spend", "orders"], *Q4))
    assert c[("inventory", "negative stock")] == 0
    assert c[("marketing_spend", "negative spend")] == 0
    # the independent count of duplicated (order_id, sku) lines
    items = pd.read_parquet(sample_dir / "order_items")
    c2 = _counts(Q.scan(src, ["order_items"]))
    assert c2[("order_items", "duplicate line (order_id, sku)")] == int(
        items.duplicated(["order_id", "sku"]).sum()
    )


def test_units_in_two_variants_counted(tmp_path, sample_dir):
    a = pd.read_parquet(sample_dir / "assignments")
    twice = a.head(6).assign(
        variant=lambda d: np.where(d.variant == "control", "treatment", "control")
    )
    src = _shop(tmp_path, sample_dir, assignments=pd.concat([a, twice]))
    c = _counts(Q.scan(src, ["assignments"]))
    assert c[("assignments", "unit assigned to more than one variant")] == 6


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda o: o.assign(user_id=o.user_id.mask(o.index < 3)),
            r"column 'orders.user_id' has 3 null value\(s\)",
        ),
        (
            lambda o: pd.concat([o, o.head(2)]),
            r"column 'orders.order_id' has 2 value\(s\) that appear more than once",
        ),
        (
            lambda o: o.assign(gmv=o.gmv.mask(o.index < 5, -1.0)),
            r"column 'orders.gmv' has 5 negative value\(s\)",
        ),
        (lambda o: o.head(0), r"table 'orders' is empty"),
    ],
)
def test_blocking_problems_stop(tmp_path, sample_dir, mutate, message):
    orders = pd.read_parquet(sample_dir / "orders").reset_index(drop=True)
    src = _shop(tmp_path, sample_dir, orders=mutate(orders))
    with pytest.raises(DataError, match=message):
        Q.check_blocking(src, ["orders", "events"])


def test_empty_optional_table_is_fine(tmp_path, sample_dir):
    t = pd.read_parquet(sample_dir / "targets.parquet").head(0)
    src = _shop(tmp_path, sample_dir, targets=t)
    Q.check_blocking(src, ["orders"], ["targets"])


def test_csv_encoding_and_time_zones(tmp_path):
    head = "order_id,user_id,order_ts,gmv,status,city\n"
    (tmp_path / "orders.csv").write_bytes(
        (head + "o1,u1,2025-01-01 10:00:00,1,paid,北京\n").encode("gbk")
    )
    with pytest.raises(
        DataError, match=r"orders.csv: table 'orders' is not UTF-8 text \(it looks like GBK\)"
    ):
        Q.check_blocking(D.connect(str(tmp_path)), ["orders"])
    (tmp_path / "orders.csv").write_text(
        head + "o1,u1,2025-01-01 10:00:00+08:00,1,paid,x\no2,u2,2025-01-01 10:00:00,2,paid,y\n"
    )
    with pytest.raises(
        DataError, match=r"column 'orders.order_ts' mixes time zones \(\+08:00, none\)"
    ):
        Q.check_blocking(D.connect(str(tmp_path)), ["orders"])
    (tmp_path / "orders.csv").write_bytes(
        b"\xef\xbb\xbf" + (head + "o1,u1,2025-01-01 10:00:00,1,paid,x\n").encode()
    )
    Q.check_blocking(D.connect(str(tmp_path)), ["orders"])  # a BOM is fine


def test_report_section_shows_hits_and_passes():
    found = [
        Q.Finding("inventory", "negative stock", 3, 100, "treated as zero"),
        Q.Finding("events", "missing channel", 0, 50, "grouped as '(none)'"),
        Q.Finding("campaigns", "<script>alert(1)</script>", 1, 1, "kept as recorded"),
    ]
    with use(lang="en"):
        html = blocks.data_quality(found).markup
    assert "3 checks, 1 passed" in html and "negative stock" in html and "3.0%" in html
    assert "missing channel" not in html
    assert "<script>" not in html
    with use(lang="zh"):
        zh = blocks.data_quality(found).markup
    assert "库存为负" in zh and "按 0 处理" in zh


def test_rules_skip_columns_a_table_lacks(tmp_path, sample_dir):
    """A notebook may read a table with only some canonical columns (products: sku, category)."""
    p = pd.read_parquet(sample_dir / "products.parquet")[["sku", "category"]]
    src = _shop(tmp_path, sample_dir, products=p)
    checks = [f.check for f in Q.scan(src, ["products", "orders"], *Q4)]
    assert "price zero or negative" not in checks and "zero GMV" in checks


def test_period_past_the_last_row_is_reported_in_days(tmp_path, sample_dir):
    """A feed that has not landed for the end of the period: the days without data are a finding
    (the report says figures cover only the days with data); a complete feed passes."""
    orders = pd.read_parquet(sample_dir / "orders")
    orders = orders[orders.order_ts < "2025-12-16"]
    last = orders.order_ts.max().date()
    src = _shop(tmp_path, sample_dir, orders=orders)
    found = {f.table: f for f in Q.scan(src, ["orders", "events"], *Q4) if "past" in f.check}
    assert found["orders"].rows == (Q4[1] - last).days == 16
    assert found["orders"].total == 92
    assert last.isoformat() in found["orders"].check
    assert found["events"].rows == 0
    with use(lang="zh"):
        html = str(blocks.data_quality(list(found.values())))
    assert f"统计期超出最后一行数据（{last.isoformat()}）" in html


@pytest.mark.parametrize(
    ("table", "column", "bad"),
    [
        ("orders", "gmv", [np.nan, np.nan, np.inf]),
        ("orders", "gmv", [-np.inf]),  # not reported as a mere negative value
        ("orders", "refund_amount", [np.inf, np.nan]),
        ("order_items", "unit_price", [np.nan]),
        ("marketing_spend", "spend", [np.inf]),
        ("inventory", "on_hand", [np.nan, -np.inf]),
        ("market", "sales", [np.nan]),
    ],
)
def test_non_finite_amounts_stop(tmp_path, sample_dir, table, column, bad):
    """NaN or an infinity in an amount (a Parquet float) stops the run, naming the file, the
    column and how many rows (before: "n/a" or "∞" figures, a 0.0% refund rate, and "all checks
    passed")."""
    path = sample_dir / table if (sample_dir / table).is_dir() else sample_dir / f"{table}.parquet"
    df = pd.read_parquet(path).reset_index(drop=True)
    if column not in df:
        df[column] = 0.0
    df[column] = df[column].astype("float64")
    values = df[column].to_numpy(copy=True)
    values[: len(bad)] = bad
    _shop(tmp_path, sample_dir, **{table: df})  # then the column rewritten with real NaN:
    # pandas writes NaN as null, a Spark or Arrow job writes it as NaN
    pq_path = tmp_path / "shop" / f"{table}.parquet"
    t = pq.read_table(pq_path)
    t = t.set_column(t.schema.get_field_index(column), column, pa.array(values, pa.float64()))
    pq.write_table(t, pq_path)
    assert pq.read_table(pq_path).column(column).null_count == 0
    src = D.connect(str(tmp_path / "shop"))
    with pytest.raises(DataError) as exc:
        Q.check_blocking(src, [table])
    assert str(exc.value) == (
        f"{tmp_path / 'shop' / f'{table}.parquet'}: column '{table}.{column}' has {len(bad)} "
        f"NaN or infinite value(s) in {len(df):,} rows (an amount must be a finite number)"
    )


def test_non_finite_text_in_a_csv_reads_as_such_and_stops(tmp_path):
    """A CSV can hold nan/inf as text: DuckDB reads them as floats, and they stop the run too."""
    (tmp_path / "orders.csv").write_text(
        "order_id,user_id,order_ts,gmv,status\n"
        "o1,u1,2025-01-01 10:00:00,1.5,paid\n"
        "o2,u2,2025-01-01 11:00:00,nan,paid\n"
        "o3,u3,2025-01-01 12:00:00,Infinity,refunded\n"
        "o4,u4,2025-01-01 13:00:00,-inf,paid\n"
    )
    src = D.connect(str(tmp_path))
    assert src.table("orders").schema()["gmv"].is_floating()
    with pytest.raises(DataError, match=r"'orders.gmv' has 3 NaN or infinite value\(s\) in 4 rows"):
        Q.check_blocking(src, ["orders"])
