"""Shop profiles: a shop's own tables mapped to the canonical ones by one file (issue 17).

The Olist sample as published (analysis_lib/datasets/olist_raw, raw CSVs) is mapped by
tests/profiles/olist_raw.yaml alone; its figures are checked against pandas on the same CSVs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from analysis_lib import params as P
from analysis_lib.core import data as D
from analysis_lib.core import metrics as M
from analysis_lib.core import quality
from analysis_lib.errors import DataError, ParamsError

ROOT = Path(__file__).resolve().parents[1]
OLIST = ROOT / "analysis_lib" / "datasets" / "olist_raw"
PROFILE = ROOT / "tests" / "profiles" / "olist_raw.yaml"
PAID = ["delivered", "shipped", "invoiced", "processing", "approved"]


def _params(shop, **extra) -> dict:
    return {
        "notebook": "kpi_monitor",
        "title": "KPI",
        "shop": str(shop),
        "period": {"start": "2018-01-01", "end": "2018-03-31"},
        **extra,
    }


def olist_truth(start: str, end: str) -> dict:
    """Orders, GMV and buyers of the period straight from the raw CSVs with pandas: GMV is each
    order's items' price + freight; the buyer is customer_unique_id; statuses as Olist writes
    them (the paid ones of the profile's mapping)."""
    orders = pd.read_csv(
        OLIST / "olist_orders_dataset.csv", parse_dates=["order_purchase_timestamp"]
    )
    customers = pd.read_csv(OLIST / "olist_customers_dataset.csv")
    items = pd.read_csv(OLIST / "olist_order_items_dataset.csv")
    gmv = (items.price + items.freight_value).groupby(items.order_id).sum().rename("gmv")
    o = orders.merge(customers, on="customer_id").merge(gmv, on="order_id", how="left")
    ts = o.order_purchase_timestamp
    o = o[(ts >= start) & (ts < pd.Timestamp(end) + pd.Timedelta(days=1))]
    o = o[o.order_status.isin(PAID)]
    return {
        "orders": len(o),
        "gmv": float(o.gmv.fillna(0).sum()),
        "buyers": o.customer_unique_id.nunique(),
    }


@pytest.fixture(scope="module")
def olist():
    """The Olist profile's params (through ``shop:``) and its open data source."""
    p = P.validate(_params(PROFILE))
    return p, D.connect(p.data)


# --- the Olist mapping against pandas --------------------------------------------------------


def test_olist_profile_figures_equal_pandas(olist):
    p, src = olist
    D.check_tables(src, {"orders": None, "order_items": None, "products": None})
    t = src.table("orders")
    lo, hi = D.as_date_bounds("2018-01-01", "2018-03-31")
    got = src.execute(
        M.valid_orders(t.filter((t.order_ts >= lo) & (t.order_ts < hi))).aggregate(
            orders=lambda x: x.count(),
            gmv=lambda x: x.gmv.sum(),
            buyers=lambda x: x.user_id.nunique(),
        )
    ).iloc[0]
    want = olist_truth("2018-01-01", "2018-03-31")
    assert int(got["orders"]) == want["orders"] > 1000
    assert int(got["buyers"]) == want["buyers"]
    assert float(got["gmv"]) == pytest.approx(want["gmv"], rel=1e-9)


def test_olist_profile_sets_shop_currency_zone_and_a_view(olist):
    p, src = olist
    assert p.shop.name == "Olist (8,000-order sample)"
    assert (p.currency, p.lang, p.data.timezone) == ("BRL", "en", "America/Sao_Paulo")
    assert Path(p.data.url) == OLIST  # relative to the profile's folder, not the working dir
    src.table("orders")
    views = src.con.raw_sql(
        "SELECT view_name FROM duckdb_views() WHERE view_name LIKE '_wb_shop_%'"
    ).fetchall()
    assert ("_wb_shop_orders",) in views  # a view: nothing copied
    tables = src.con.raw_sql("SELECT table_name FROM duckdb_tables()").fetchall()
    assert tables == []


def test_olist_order_items_and_products(olist):
    _, src = olist
    items = src.execute(
        src.table("order_items").select("order_id", "sku", "quantity", "unit_price")
    )
    raw = pd.read_csv(OLIST / "olist_order_items_dataset.csv")
    assert len(items) == len(raw)
    assert items.quantity.eq(1).all()
    assert items.unit_price.sum() == pytest.approx(raw.price.sum())
    products = src.execute(src.table("products"))
    assert products.sku.is_unique
    assert set(products.sku) == set(raw.product_id)
    assert products.category.notna().all()
    # translated where the translation has the category (the CSV's header starts with a BOM)
    assert "health_beauty" in set(products.category)


def test_unknown_status_values_are_kept_and_counted(tmp_path):
    """Values no rule names stay as written (a status 'created' is not silently 'paid'), so
    the data-quality section's unknown-status rule counts them."""
    (tmp_path / "sales.csv").write_text(
        "id,customer,created,total,state\n"
        "1,10,2025-10-01 10:00:00,10.0,ok\n"
        "2,11,2025-10-02 10:00:00,20.0,void\n"
        "3,12,2025-10-03 10:00:00,30.0,created\n"
        "4,10,2025-10-04 10:00:00,40.0,ok\n"
    )
    prof = tmp_path / "shop.yaml"
    prof.write_text(
        yaml.safe_dump(
            {
                "shop": {"name": "Tiny"},
                "data": {"url": "."},
                "tables": {
                    "orders": {
                        "source": "sales.csv",
                        "columns": {
                            "order_id": "id",
                            "user_id": "customer",
                            "order_ts": "created",
                            "gmv": "total",
                            "status": "state",
                        },
                        "values": {"status": {"paid": ["ok"], "cancelled": ["void"]}},
                    }
                },
            }
        )
    )
    p = P.validate(_params(prof, period={"start": "2025-10-01", "end": "2025-10-31"}))
    src = D.connect(p.data)
    D.check_tables(src, {"orders": None})
    quality.check_blocking(src, ["orders"])
    df = src.execute(src.table("orders")).sort_values("order_id")
    assert list(df.status) == ["paid", "cancelled", "created", "paid"]
    assert list(df.order_id) == ["1", "2", "3", "4"]  # integer ids read as text, after mapping
    assert ("orders", "order_id") in src.id_casts
    found = {f.check: f.rows for f in quality.scan(src, ["orders"], p.period.start, p.period.end)}
    assert found["status not paid, refunded or cancelled"] == 1
    assert "order_id stored as a number (int64)" in found


# --- precedence -------------------------------------------------------------------------------


def test_params_win_over_the_profile(tmp_path):
    p = P.validate(
        _params(
            PROFILE,
            currency="EUR",
            lang="zh",
            data={"url": str(tmp_path), "timezone": "UTC"},
        )
    )
    assert (p.currency, p.lang, p.data.timezone, p.data.url) == ("EUR", "zh", "UTC", str(tmp_path))
    assert set(p.data.tables) == {"orders", "order_items", "products"}  # the mappings still apply
    q = P.validate(_params(PROFILE))
    assert (q.currency, q.lang, q.data.timezone) == ("BRL", "en", "America/Sao_Paulo")


def test_shop_path_is_relative_to_the_params_file(tmp_path, monkeypatch):
    shop = tmp_path / "shops" / "olist.yaml"
    shop.parent.mkdir()
    text = PROFILE.read_text().replace("../../analysis_lib/datasets/olist_raw", str(OLIST))
    shop.write_text(text)
    params = tmp_path / "params" / "kpi.yaml"
    params.parent.mkdir()
    params.write_text(yaml.safe_dump(_params("../shops/olist.yaml")))
    monkeypatch.chdir(ROOT)
    p = P.load(params)
    assert p.shop.name.startswith("Olist") and p.data.profile == str(
        params.parent / "../shops/olist.yaml"
    )
    # a notebook's params (what a run injects) validate again as they are, in the kernel
    again = P.KpiMonitorParams.model_validate(P.to_notebook(p))
    assert again.data.tables == p.data.tables and again.shop == p.shop
    # and a notebook's parameters cell may name the profile itself (relative to its folder)
    monkeypatch.chdir(tmp_path / "params")
    assert P.KpiMonitorParams.model_validate(_params("../shops/olist.yaml")).currency == "BRL"


def test_params_without_a_profile_dump_as_before(tmp_path):
    doc = {k: v for k, v in _params("x").items() if k != "shop"} | {"data": {"url": "d"}}
    out = P.to_notebook(P.validate(doc))
    assert "shop" not in out and set(out["data"]) == {
        "url",
        "timezone",
        "date_format",
        "timestamp_format",
    }


def test_fingerprint_covers_the_mappings(olist, tmp_path):
    p, _ = olist
    a = D.fingerprint(p.data)
    assert a != D.fingerprint(p.data.url)
    other = p.data.model_copy(deep=True)
    other.tables["orders"].values["status"]["paid"].remove("approved")
    assert D.fingerprint(other) != a
    assert D.fingerprint(p.data.model_copy(deep=True)) == a


# --- other sources ----------------------------------------------------------------------------


def _warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA ods")
    con.execute(
        "CREATE TABLE ods.orders AS SELECT * FROM (VALUES "
        "(101, 7, TIMESTAMP '2025-10-01 09:00', 12.5, 'PAID'), "
        "(102, 8, TIMESTAMP '2025-10-02 09:00', 7.5, 'REFUND'), "
        "(103, 7, TIMESTAMP '2025-10-03 09:00', 5.0, 'PAID')) t(oid, cust, ts, amt, st)"
    )
    con.execute("CREATE TABLE orders AS SELECT 1 AS unrelated")  # a shop table named alike
    con.close()


def _warehouse_profile(tmp_path: Path, url: str) -> Path:
    prof = tmp_path / "shop.yaml"
    prof.write_text(
        yaml.safe_dump(
            {
                "shop": {"name": "Warehouse shop", "currency": "USD"},
                "data": {"url": url},
                "tables": {
                    "orders": {
                        "source": {"table": "ods.orders"},
                        "columns": {"order_id": "oid", "user_id": "cust", "order_ts": "ts"},
                        # recoded from the derived expression's values (lower(st))
                        "values": {"status": {"paid": ["paid"], "refunded": ["refund"]}},
                        "derive": {"gmv": "amt * 2", "status": "lower(st)"},
                    }
                },
            }
        )
    )
    return prof


def test_duckdb_file_with_a_table_source(tmp_path):
    db = tmp_path / "shop.duckdb"
    _warehouse(db)
    prof = _warehouse_profile(tmp_path, f"duckdb://{db}")
    p = P.validate(_params(prof, period={"start": "2025-10-01", "end": "2025-10-31"}))
    src = D.connect(p.data)
    D.check_tables(src, {"orders": None})
    df = src.execute(src.table("orders")).sort_values("order_id")
    assert list(df.order_id) == ["101", "102", "103"]
    assert list(df.user_id) == ["7", "8", "7"]
    assert list(df.gmv) == [25.0, 15.0, 10.0]
    assert list(df.status) == ["paid", "refunded", "paid"]
    assert "orders" in src.names() and not any(n.startswith("_wb_") for n in src.names())
    # the database itself is untouched (opened read-only; the view is temporary)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone() == (0,)
    con.close()


def test_a_relative_duckdb_file_is_beside_the_profile(tmp_path, monkeypatch):
    shop = tmp_path / "shop"
    shop.mkdir()
    _warehouse(shop / "wh.duckdb")
    prof = _warehouse_profile(shop, "duckdb://wh.duckdb")
    monkeypatch.chdir(tmp_path)
    p = P.validate(_params(prof))
    assert p.data.url == f"duckdb://{shop / 'wh.duckdb'}"
    src = D.connect(p.data)
    assert src.execute(src.table("orders").count()) == 3


def test_other_backend_gets_an_ibis_expression(tmp_path):
    """On a backend other than DuckDB (SQLite here), the mapping is the same SELECT transpiled to
    the engine's SQL (con.sql), nothing created in the database."""
    import sqlite3

    db = tmp_path / "shop.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE sales (oid INTEGER, cust INTEGER, amt REAL, st TEXT)")
    con.executemany(
        "INSERT INTO sales VALUES (?, ?, ?, ?)", [(1, 7, 2.5, "ok"), (2, 8, 4.0, "void")]
    )
    con.commit()
    con.close()
    prof = tmp_path / "shop.yaml"
    prof.write_text(
        yaml.safe_dump(
            {
                "shop": {"name": "SQLite shop"},
                "data": {"url": f"sqlite://{db}"},
                "tables": {
                    "orders": {
                        "source": {"table": "sales"},
                        "columns": {"order_id": "oid", "user_id": "cust", "status": "st"},
                        "values": {"status": {"paid": ["ok"], "cancelled": ["void"]}},
                        "derive": {"gmv": "amt * 10"},
                    }
                },
            }
        )
    )
    p = P.validate(_params(prof))
    src = D.connect(p.data)
    df = src.execute(src.table("orders")).sort_values("order_id")
    assert list(df.status) == ["paid", "cancelled"]
    assert list(df.gmv) == [25.0, 40.0]
    assert list(df.order_id) == ["1", "2"]
    assert src.con.list_tables() == ["sales"]


def test_a_file_source_needs_a_folder(tmp_path):
    prof = tmp_path / "shop.yaml"
    prof.write_text(
        yaml.safe_dump(
            {
                "shop": {"name": "x"},
                "data": {"url": "duckdb://"},
                "tables": {"orders": {"source": "orders.csv"}},
            }
        )
    )
    src = D.connect(P.validate(_params(prof)).data)
    with pytest.raises(DataError, match=r"tables\.orders\.source: source file 'orders\.csv' needs"):
        src.table("orders")


def test_glob_sources(tmp_path):
    for month, rows in (
        ("10", "1,7,2025-10-01 10:00:00,3.0,paid"),
        ("11", "2,8,2025-11-01 10:00:00,4.0,paid"),
    ):
        (tmp_path / f"orders_2025_{month}.csv").write_text(
            "order_id,user_id,order_ts,gmv,status\n" + rows + "\n"
        )
    prof = tmp_path / "shop.yaml"
    prof.write_text(
        yaml.safe_dump(
            {
                "shop": {"name": "x"},
                "data": {"url": "."},
                "tables": {"orders": {"source": "orders_2025_*.csv"}},
            }
        )
    )
    src = D.connect(P.validate(_params(prof)).data)
    D.check_tables(src, {"orders": None})
    assert src.execute(src.table("orders").gmv.sum()) == 7.0


def test_order_ts_from_a_date_and_a_time_column(tmp_path):
    (tmp_path / "sales.csv").write_text(
        "id,buyer,day,hour,total,state\n1,7,2025-10-01,23:30:00,3.0,paid\n"
    )
    prof = tmp_path / "shop.yaml"
    prof.write_text(
        yaml.safe_dump(
            {
                "shop": {"name": "x"},
                "data": {"url": "."},
                "tables": {
                    "orders": {
                        "source": "sales.csv",
                        "columns": {"order_id": "id", "user_id": "buyer", "gmv": "total"},
                        "derive": {
                            "order_ts": "CAST(day AS DATE) + CAST(hour AS TIME)",
                            "status": "state",
                        },
                    }
                },
            }
        )
    )
    src = D.connect(P.validate(_params(prof)).data)
    D.check_tables(src, {"orders": None})
    assert str(src.execute(src.table("orders").order_ts)[0]) == "2025-10-01 23:30:00"


# --- bad profiles: one line, the profile, the table and the column ---------------------------


def _bad(tmp_path: Path, mutate) -> Path:
    doc = yaml.safe_load(PROFILE.read_text())
    doc["data"]["url"] = str(OLIST)
    mutate(doc)
    prof = tmp_path / "shop.yaml"
    prof.write_text(yaml.safe_dump(doc, sort_keys=False))
    return prof


def _orders(doc) -> dict:
    return doc["tables"]["orders"]


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda d: _orders(d).update(colums=_orders(d).pop("columns")),
            "shop.yaml: unknown key 'tables.orders.colums' (did you mean 'columns'?)",
        ),
        (
            lambda d: d["shop"].update(curency="BRL"),
            "shop.yaml: unknown key 'shop.curency' (did you mean 'currency'?)",
        ),
        (
            lambda d: _orders(d).update(source={"tabel": "x"}),
            "shop.yaml: unknown key 'tables.orders.source.tabel' (did you mean 'table'?)",
        ),
        (
            lambda d: d["tables"].update(order=d["tables"].pop("orders")),
            "shop.yaml: field 'tables': unknown table 'order' (did you mean 'orders'?)",
        ),
        (
            lambda d: _orders(d)["columns"].update(user_idd=_orders(d)["columns"].pop("user_id")),
            "shop.yaml: field 'tables': table 'orders': unknown column 'user_idd' (did you mean "
            "'user_id'?)",
        ),
        (
            lambda d: d["tables"]["order_items"]["derive"].update(quantity="1 +"),
            "shop.yaml: field 'tables.order_items.derive.quantity': invalid SQL expression: "
            "syntax error at end of input (got '1 +')",
        ),
        (
            lambda d: _orders(d).update(source={"sql": "DELETE FROM items"}),
            "shop.yaml: field 'tables.orders.source.sql': must be a SELECT query (got 'DELETE FROM "
            "items')",
        ),
        (
            lambda d: _orders(d)["values"]["status"]["cancelled"].append("shipped"),
            "shop.yaml: field 'tables.orders.values': column 'status': value 'shipped' is mapped "
            "to both 'paid' and 'cancelled'",
        ),
        (
            lambda d: d["sources"].update(items="/etc/passwd"),
            "shop.yaml: field 'sources.items.file': a file under the data folder: relative, no "
            "'..', no NUL byte (got '/etc/passwd')",
        ),
        (
            lambda d: d["shop"].update(timezone="America/Sao_Paolo"),
            "shop.yaml: field 'shop.timezone': unknown time zone 'America/Sao_Paolo' (did you "
            "mean 'America/Sao_Paulo'?)",
        ),
    ],
)
def test_malformed_profile_is_a_params_error(tmp_path, mutate, expected):
    prof = _bad(tmp_path, mutate)
    with pytest.raises(ParamsError) as exc:
        P.validate(_params(prof))
    assert str(exc.value) == expected.replace("shop.yaml", str(prof))
    assert exc.value.exit_code == 2


@pytest.mark.parametrize(
    "mutate, table, expected",
    [
        (
            lambda d: _orders(d)["columns"].update(user_id="customer_unique_idd"),
            "orders",
            "shop.yaml: tables.orders.columns.user_id: column 'customer_unique_idd' is not in "
            "the source's query (did you mean 'customer_unique_id'?)",
        ),
        (
            lambda d: d["tables"]["order_items"]["columns"].update(sku="produt_id"),
            "order_items",
            "shop.yaml: tables.order_items.columns.sku: column 'produt_id' is not in source "
            "'items' (olist_order_items_dataset.csv) (did you mean 'product_id'?)",
        ),
        (
            lambda d: d["sources"].update(items="olist_items.csv"),
            "order_items",
            "shop.yaml: sources.items: file 'olist_items.csv' not found under {OLIST} (did you "
            "mean 'olist_order_items_dataset.csv'?)",
        ),
        (
            lambda d: d["tables"]["order_items"]["derive"].update(quantity="qty + 1"),
            "order_items",
            'shop.yaml: tables.order_items.derive.quantity: Binder Error: Referenced column "qty" '
            "not found in FROM clause!",
        ),
        (
            lambda d: _orders(d)["source"].update(sql="SELECT * FROM nowhere"),
            "orders",
            "shop.yaml: tables.orders.source.sql: Catalog Error: Table with name nowhere does not "
            "exist!",
        ),
        (
            lambda d: _orders(d)["values"].update(channel={"web": ["w"]}),
            "orders",
            "shop.yaml: tables.orders.values.channel: no column 'channel' to recode (map it in "
            "columns, derive it, or name a column of the source's query)",
        ),
    ],
)
def test_mapping_that_the_data_cannot_meet_is_a_data_error(tmp_path, mutate, table, expected):
    prof = _bad(tmp_path, mutate)
    src = D.connect(P.validate(_params(prof)).data)
    with pytest.raises(DataError) as exc:
        src.table(table)
    want = expected.replace("shop.yaml", str(prof)).replace("{OLIST}", str(OLIST))
    assert str(exc.value) == want
    assert exc.value.exit_code == 3


def test_profile_not_found_and_not_a_profile(tmp_path):
    with pytest.raises(ParamsError, match=r"field 'shop': shop profile not found: .*nope\.yaml"):
        P.validate(_params(tmp_path / "nope.yaml"))
    params_file = tmp_path / "kpi.yaml"
    params_file.write_text(yaml.safe_dump(_params("x")))
    with pytest.raises(ParamsError, match=r"not a shop profile \(has a 'notebook' key\)"):
        P.validate(_params(params_file))


# --- the command line -------------------------------------------------------------------------


def _workbook(*args, cwd) -> subprocess.CompletedProcess:
    exe = Path(__import__("sys").executable).parent / "workbook"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True)


def test_validate_a_profile_checks_its_mappings(tmp_path):
    ok = _workbook("validate", str(PROFILE), cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    assert "shop profile 'Olist (8,000-order sample)'" in ok.stdout
    bad = _bad(tmp_path, lambda d: _orders(d)["columns"].update(order_ts="purchase_ts"))
    r = _workbook("validate", str(bad), cwd=tmp_path)
    assert r.returncode == 3
    assert r.stderr.splitlines() == [
        f"error: {bad}: tables.orders.columns.order_ts: column 'purchase_ts' is not in the "
        "source's query (did you mean 'order_purchase_timestamp'?)"
    ]


def test_running_a_profile_says_what_it_is(tmp_path):
    r = _workbook("run", str(PROFILE), "--out", str(tmp_path / "reports"), cwd=ROOT)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"error: {PROFILE}: a shop profile, not a params file: a params file names it with "
        f"'shop: {PROFILE}' (`workbook validate {PROFILE}` checks it)"
    ]


def test_params_files_leave_profiles_out(tmp_path):
    from analysis_lib.run.cli import params_files

    (tmp_path / "shop.yaml").write_text(PROFILE.read_text())
    (tmp_path / "kpi.yaml").write_text(yaml.safe_dump(_params("shop.yaml")))
    (tmp_path / "broken.yaml").write_text("shop: [")  # unreadable: its run says why
    assert [p.name for p in params_files(tmp_path)] == ["broken.yaml", "kpi.yaml"]


@pytest.mark.slow
def test_run_all_over_a_shop_folder(tmp_path):
    """A KPI monitor and a customer value report of the raw Olist CSVs through ``shop:``, end to
    end with run-all (which leaves the profile out), figures equal to pandas."""
    shop = tmp_path / "olist"
    shop.mkdir()
    text = PROFILE.read_text().replace("../../analysis_lib/datasets/olist_raw", str(OLIST))
    (shop / "shop.yaml").write_text(text)
    (shop / "kpi.yaml").write_text(
        yaml.safe_dump(_params("shop.yaml") | {"title": "Olist KPI", "grain": "month"})
    )
    (shop / "cv.yaml").write_text(
        yaml.safe_dump(
            {
                "notebook": "customer_value",
                "title": "Olist customers",
                "shop": "shop.yaml",
                "period": {"start": "2017-01-01", "end": "2018-06-30"},
            }
        )
    )
    r = _workbook("run-all", str(shop), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr + r.stdout
    kpi = json.loads((tmp_path / "reports/kpi_monitor/kpi/results.json").read_text())
    want = olist_truth("2018-01-01", "2018-03-31")
    assert kpi["figures"]["orders"] == want["orders"]
    assert kpi["figures"]["buyers"] == want["buyers"]
    assert kpi["figures"]["gmv"] == pytest.approx(want["gmv"], rel=1e-9)
    assert kpi["figures"]["uv"] is None  # no events table: no UV, said in the report
    assert kpi["params"]["currency"] == "BRL"
    cv = json.loads((tmp_path / "reports/customer_value/cv/results.json").read_text())
    assert cv["figures"]["customers"] == olist_truth("2017-01-01", "2018-06-30")["buyers"]
    assert cv["data"]["fingerprint"] != D.fingerprint(str(OLIST))  # the mappings are in it
    html = (tmp_path / "reports/kpi_monitor/kpi/report.html").read_text()
    assert "Shop: Olist (8,000-order sample)" in html
    assert "R$" in html  # the shop's currency
    assert not (tmp_path / "reports/shop").exists()


def test_a_profile_of_canonical_tables_needs_no_mapping(tmp_path, sample_dir):
    """What ``workbook import`` writes: ``shop:`` and ``data:`` only, the tables already
    canonical; the profile may sit in the data folder itself (``url: .``)."""
    folder = tmp_path / "shop"
    shutil.copytree(sample_dir, folder, ignore=shutil.ignore_patterns("events*", "*.lock"))
    (folder / "shop.yaml").write_text(
        "# written by an importer\nshop:\n  name: Imported shop\n  currency: CNY\n"
        "  timezone: Asia/Shanghai\n  lang: zh\ndata:\n  url: .\n"
    )
    p = P.validate(_params(folder / "shop.yaml"))
    assert (p.shop.name, p.currency, p.lang, p.data.timezone) == (
        "Imported shop",
        "CNY",
        "zh",
        "Asia/Shanghai",
    )
    assert p.data.url == str(folder) and not p.data.tables
    src = D.connect(p.data)
    D.check_tables(src, {"orders": None}, {"events": None})
    assert not src.has("events") and "shop" not in src.names()
    assert D.fingerprint(p.data) == D.fingerprint(str(folder))  # no mapping: the folder's own


def _readme_profiles() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Your shop's data: a profile") :]
    section = section[: section.index("\n### ", 5)]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def test_readme_profiles_work(tmp_path):
    """The README's two profiles: the warehouse one on a small warehouse of that shape, the
    Olist one on the vendored CSVs (as tests/profiles/olist_raw.yaml maps them)."""
    warehouse, olist_doc = _readme_profiles()
    db = tmp_path / "acme.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA ods; CREATE SCHEMA dim")
    con.execute(
        "CREATE TABLE ods.orders AS SELECT * FROM (VALUES "
        "('A1', 501, TIMESTAMP '2025-10-01 10:00', 'PAID'), "
        "('A2', 502, TIMESTAMP '2025-10-02 11:00', 'CLOSED'), "
        "('A3', 501, TIMESTAMP '2025-10-05 09:00', 'WAITING')) t(order_no, member_id, paid_at, state)"
    )
    con.execute(
        "CREATE TABLE ods.order_lines AS SELECT * FROM (VALUES ('A1', 'S1', 2, 10.0), "
        "('A1', 'S2', 1, 5.5), ('A2', 'S1', 1, 10.0), ('A3', 'S2', 3, 5.5)) "
        "t(order_no, sku_code, qty, price)"
    )
    con.execute(
        "CREATE TABLE dim.sku AS SELECT * FROM (VALUES ('S1', 'toys', 1000), ('S2', 'books', 550)) "
        "t(sku_code, cat_name, list_price)"
    )
    con.close()
    prof = tmp_path / "acme.yaml"
    prof.write_text(re.sub(r"url: duckdb:///\S+", f"url: duckdb://{db}", warehouse))
    P.check_profile(prof)
    p = P.validate(_params(prof))
    assert (p.currency, p.lang, p.data.timezone) == ("CNY", "zh", "Asia/Shanghai")
    src = D.connect(p.data)
    orders = src.execute(src.table("orders")).sort_values("order_id")
    assert list(orders.gmv) == [25.5, 10.0, 16.5]
    assert list(orders.status) == ["paid", "cancelled", "WAITING"]
    assert list(src.execute(src.table("products")).sort_values("sku").price) == [10.0, 5.5]
    doc = yaml.safe_load(olist_doc)
    assert doc["tables"] == {
        k: v for k, v in yaml.safe_load(PROFILE.read_text())["tables"].items() if k in doc["tables"]
    }


def test_mapped_tables_get_the_shop_zone_and_the_blocking_checks(tmp_path):
    """Times with an offset in a mapped source are read as the shop's wall-clock times, and a
    blocking check of a mapped table names the profile's mapping."""
    (tmp_path / "sales.csv").write_text(
        "id,buyer,at,total,state\n"
        "1,7,2025-10-01 20:00:00+00:00,3.0,paid\n"
        "1,8,2025-10-02 01:00:00+00:00,4.0,paid\n"
    )
    prof = tmp_path / "shop.yaml"
    prof.write_text(
        yaml.safe_dump(
            {
                "shop": {"name": "x", "timezone": "Asia/Shanghai"},
                "data": {"url": "."},
                "tables": {
                    "orders": {
                        "source": "sales.csv",
                        "columns": {
                            "order_id": "id",
                            "user_id": "buyer",
                            "order_ts": "at",
                            "gmv": "total",
                            "status": "state",
                        },
                    }
                },
            }
        )
    )
    p = P.validate(_params(prof))
    src = D.connect(p.data)
    D.check_tables(src, {"orders": None})
    ts = src.execute(src.table("orders").order_ts)
    assert [str(t) for t in ts] == ["2025-10-02 04:00:00", "2025-10-02 09:00:00"]
    with pytest.raises(DataError) as exc:
        quality.check_blocking(src, ["orders"])
    assert str(exc.value).startswith(f"{prof}#tables.orders: column 'orders.order_id' has 1 value")


@pytest.mark.spark
@pytest.mark.slow
def test_the_same_mapping_on_spark(tmp_path):
    """On Spark the mapping is the DuckDB-dialect SELECT transpiled to Spark SQL (con.sql): a
    named source, a recode and a derived column give what DuckDB gives."""
    (tmp_path / "sales.csv").write_text(
        "id,buyer,at,total,state\n1,7,2025-10-01 10:00:00,3.0,ok\n2,8,2025-10-02 11:00:00,4.0,void\n"
    )
    mapping = {
        "shop": {"name": "x"},
        "sources": {"s": {"table": "sales"}},
        "tables": {
            "orders": {
                "source": {"sql": "SELECT * FROM s WHERE total > 0"},
                "columns": {
                    "order_id": "id",
                    "user_id": "buyer",
                    "order_ts": "at",
                    "status": "state",
                },
                "values": {"status": {"paid": ["ok"], "cancelled": ["void"]}},
                "derive": {"gmv": "total * 2"},
            }
        },
    }
    got = {}
    for engine, url in (("spark", f"pyspark://{tmp_path}"), ("duckdb", str(tmp_path))):
        prof = tmp_path / f"{engine}.yaml"
        prof.write_text(yaml.safe_dump(mapping | {"data": {"url": url}}))
        src = D.connect(P.validate(_params(prof)).data)
        D.check_tables(src, {"orders": None})
        df = src.execute(src.table("orders")).sort_values("order_id").reset_index(drop=True)
        got[engine] = df[["order_id", "user_id", "order_ts", "status", "gmv"]]
    pd.testing.assert_frame_equal(got["spark"], got["duckdb"], check_dtype=False)
    assert list(got["spark"].status) == ["paid", "cancelled"]
