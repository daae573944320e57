"""`workbook import`: each importer's figures against an independent pandas computation on the
raw export, its decision counts, refusal to overwrite, nothing half-written, idempotence, personal
data never written, and (slow) import then run-all over params that use the written profile."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from analysis_lib.analyses import customers as C
from analysis_lib.core import data as D
from analysis_lib.errors import DataError, ParamsError
from analysis_lib.ingest import run_import
from analysis_lib.ingest.common import SALT_ENV
from analysis_lib.run import cli

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "analysis_lib" / "datasets"
ONLINE_RETAIL = DATASETS / "online_retail" / "online_retail_2010_2011.parquet"
OLIST = DATASETS / "olist_raw"
TAOBAO_LOG = DATASETS / "taobao_userbehavior" / "UserBehavior_300users.csv"
SHOPIFY = ROOT / "tests" / "real_shops" / "shopify" / "orders_export.csv"
TAOBAO_REPORT = ROOT / "tests" / "real_shops" / "taobao" / "order_report_gbk.csv"
TAOBAO_ITEMS = ROOT / "tests" / "real_shops" / "taobao" / "item_report_gbk.csv"
REAL_SHOPS = ROOT / "tests" / "real_shops"


def decisions(out: Path) -> dict[str, dict]:
    return {d["key"]: d for d in json.loads((out / "import.json").read_text())["decisions"]}


def table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def every_text(out: Path) -> str:
    """Every value of every written table as text, plus the profile and import.json: what a
    grep for personal data must not find (Parquet pages are compressed, so read them)."""
    parts = []
    for f in sorted(out.iterdir()):
        if f.suffix == ".parquet":
            df = pd.read_parquet(f)
            parts.append(" ".join(df.columns))
            parts.append(df.astype(str).to_csv(index=False))
        else:
            parts.append(f.read_text(encoding="utf-8"))
    return "\n".join(parts)


# --- Online Retail ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def online_retail(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("or") / "shop"
    run_import("online-retail", [ONLINE_RETAIL], out)
    return out


@pytest.fixture(scope="module")
def or_raw() -> pd.DataFrame:
    raw = pd.read_parquet(ONLINE_RETAIL)
    raw["inv"] = raw["InvoiceNo"].astype(str)
    raw["value"] = raw["Quantity"] * raw["UnitPrice"]
    return raw


def _or_sales(raw: pd.DataFrame) -> pd.DataFrame:
    s = raw[~raw.inv.str.startswith(("C", "A")) & (raw.Quantity > 0) & (raw.UnitPrice > 0)].copy()
    cust = s["CustomerID"].map(lambda x: None if pd.isna(x) else str(int(x)))
    s["user"] = cust.fillna("guest:" + s["inv"])
    return s


def test_online_retail_figures_match_pandas(online_retail, or_raw):
    sales = _or_sales(or_raw)
    orders = table(online_retail, "orders")
    assert len(orders) == sales.inv.nunique()
    assert orders.gmv.min() >= 0
    assert set(orders.status) <= {"paid", "refunded"}
    src = D.connect(str(online_retail))
    t = src.table("orders")
    gmv = float(src.execute(t.gmv.sum()))
    assert gmv == pytest.approx(sales.value.sum(), rel=1e-9)
    # customers and repeat share over known customers: guest checkouts (no CustomerID) are
    # orders and GMV above, but not customers
    known = sales[sales.CustomerID.notna()]
    per_user = known.groupby("user").inv.nunique()
    rep = C.repeat_share(src, "2010-12-01", "2011-12-09")
    assert rep.customers == len(per_user) == known.CustomerID.nunique()
    assert rep.repeat_customer_share == pytest.approx((per_user >= 2).mean())
    assert table(online_retail, "users").user_id.nunique() == sales.CustomerID.dropna().nunique()
    guests = C.guest_orders(src, "2010-12-01", "2011-12-09")
    g = sales[sales.CustomerID.isna()]
    assert guests.orders == g.inv.nunique()
    assert guests.order_share == pytest.approx(g.inv.nunique() / sales.inv.nunique())
    assert guests.gmv_share == pytest.approx(g.value.sum() / sales.value.sum(), rel=1e-9)
    # the first cohorts' month-1 retention, known customers
    first = known.groupby("user").InvoiceDate.min().dt.to_period("M").rename("c0")
    s = known.join(first, on="user")
    s["offset"] = (s.InvoiceDate.dt.to_period("M") - s.c0).map(lambda d: d.n)
    size = s.groupby("c0").user.nunique()
    m1 = s[s.offset == 1].groupby("c0").user.nunique() / size
    coh = C.cohorts(src, "2010-12-01", "2011-12-09")
    got = coh[coh.offset == 1].set_index("cohort").retention_in
    for c0 in size.index[:3]:
        assert got[str(c0)] == pytest.approx(m1[c0])


def test_online_retail_decisions_count_what_they_say(online_retail, or_raw):
    d = decisions(online_retail)
    sales = _or_sales(or_raw)
    credit = or_raw[or_raw.inv.str.startswith("C")]
    assert d["adjustments"]["count"] == or_raw[or_raw.inv.str.startswith("A")].inv.nunique()
    assert d["credit_notes"]["count"] == credit.inv.nunique()
    assert d["guest_orders"]["count"] == sales[sales.CustomerID.isna()].inv.nunique()
    zero = or_raw[
        ~or_raw.inv.str.startswith(("C", "A")) & ((or_raw.Quantity <= 0) | (or_raw.UnitPrice <= 0))
    ]
    assert d["zero_lines"]["count"] == len(zero)
    # every credited pound is either on an order or counted as left out, and guests' credits
    # are exactly the credit lines without a customer
    total_credit = -credit.value.sum()
    parts = ("credit_lines_matched", "credit_lines_guest", "credit_lines_unmatched")
    assert sum(d[k]["value"] for k in parts) == pytest.approx(total_credit, abs=0.05)
    guest_credit = -credit[credit.CustomerID.isna()].value.sum()
    assert d["credit_lines_guest"]["value"] == pytest.approx(guest_credit, abs=0.01)
    orders = table(online_retail, "orders")
    assert orders.refund_amount.sum() <= d["credit_lines_matched"]["value"] + 0.01
    assert (orders.refund_amount <= orders.gmv + 1e-9).all()
    full = orders[orders.status == "refunded"]
    assert len(full) == d["orders_refunded"]["count"]
    assert np.allclose(full.refund_amount, full.gmv, atol=0.01)
    # guests never repeat: one order per guest id; is_guest marks exactly the invoices without a
    # customer id, and the decision line says they are marked
    guests = orders[orders.user_id.str.startswith("guest:")]
    assert guests.user_id.is_unique and len(guests) == d["guest_orders"]["count"]
    no_customer = set(sales[sales.CustomerID.isna()].inv)
    assert orders.is_guest.dtype == bool
    assert set(orders.order_id[orders.is_guest]) == no_customer
    assert "marked orders.is_guest" in d["guest_orders"]["text"]
    # postage is in GMV and shipping_fee, not an item
    items = table(online_retail, "order_items")
    assert not items.sku.isin(["POST", "DOT", "C2"]).any()
    merged = items.merge(orders[["order_id", "gmv", "shipping_fee"]], on="order_id")
    goods = (merged.quantity * merged.unit_price).groupby(merged.order_id).sum()
    check = orders.set_index("order_id")
    assert np.allclose(goods, (check.gmv - check.shipping_fee)[goods.index], atol=1e-6)


def test_online_retail_other_spelling_csv_and_overlapping_files(tmp_path, or_raw):
    """The Online Retail II spelling (Invoice, Price, Customer ID) as a CSV with US dates, and
    two files overlapping by whole invoices, give the same orders as one clean file."""
    raw = pd.read_parquet(ONLINE_RETAIL)
    inv = raw.InvoiceNo.astype(str)
    starts = inv.ne(inv.shift()).to_numpy().nonzero()[0]
    a_end, b_start, b_end = starts[300], starts[200], starts[500]
    whole = raw.iloc[:b_end]
    whole.to_parquet(tmp_path / "whole.parquet")
    raw.iloc[:a_end].to_parquet(tmp_path / "a.parquet")
    b = raw.iloc[b_start:b_end].rename(
        columns={"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"}
    )
    b = b[
        [
            "Invoice",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "Price",
            "Customer ID",
            "Country",
        ]
    ]
    b["InvoiceDate"] = b.InvoiceDate.map(lambda t: f"{t.month}/{t.day}/{t.year} {t.hour}:{t:%M}")
    b.to_csv(tmp_path / "b.csv", index=False)
    run_import("online-retail", [tmp_path / "whole.parquet"], tmp_path / "one")
    run_import("online-retail", [tmp_path / "a.parquet", tmp_path / "b.csv"], tmp_path / "two")
    one, two = table(tmp_path / "one", "orders"), table(tmp_path / "two", "orders")
    pd.testing.assert_frame_equal(one, two)
    d = decisions(tmp_path / "two")
    overlap = set(inv.iloc[b_start:a_end])
    assert d["overlap_invoices"]["count"] == len(overlap)
    assert d["overlap_lines"]["count"] == a_end - b_start


# --- Olist ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def olist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("olist") / "shop"
    run_import("olist", [OLIST], out)
    return out


def _olist_raw():
    o = pd.read_csv(OLIST / "olist_orders_dataset.csv", parse_dates=["order_purchase_timestamp"])
    c = pd.read_csv(OLIST / "olist_customers_dataset.csv")
    i = pd.read_csv(OLIST / "olist_order_items_dataset.csv")
    p = pd.read_csv(OLIST / "olist_order_payments_dataset.csv")
    o = o.merge(c[["customer_id", "customer_unique_id"]], on="customer_id")
    paid = {"delivered", "shipped", "invoiced", "processing", "approved"}
    return o[o.order_status.isin(paid)], i, p, o


def test_olist_figures_match_pandas(olist, tmp_path):
    paid, items, pays, allo = _olist_raw()
    src = D.connect(str(olist))
    t = M_valid = src.table("orders")
    M_valid = t.filter(t.status.isin(["paid", "refunded"]))
    got = src.execute(M_valid.aggregate(gmv=M_valid.gmv.sum(), n=M_valid.count()))
    goods = items[items.order_id.isin(paid.order_id)]
    assert got.n[0] == len(paid)
    assert got.gmv[0] == pytest.approx((goods.price + goods.freight_value).sum())
    per_user = paid.groupby("customer_unique_id").order_id.nunique()
    rep = C.repeat_share(src, "2016-01-01", "2018-12-31")
    assert rep.customers == len(per_user)
    assert rep.repeat_customer_share == pytest.approx((per_user >= 2).mean())
    d = decisions(olist)
    for status, n in allo.order_status.value_counts().items():
        assert d[f"status_{status}"]["count"] == n
    # --gmv payments: GMV is the payments, instalment interest included
    run_import("olist", [OLIST], tmp_path / "pay", gmv="payments")
    orders = table(tmp_path / "pay", "orders")
    valid = orders[orders.status == "paid"]
    assert valid.gmv.sum() == pytest.approx(
        pays[pays.order_id.isin(paid.order_id)].payment_value.sum()
    )
    cats = table(olist, "products")
    assert "health_beauty" in set(cats.category) and not cats.category.isna().any()


# --- Shopify ----------------------------------------------------------------------------------


def _shopify_raw() -> pd.DataFrame:
    raw = pd.read_csv(SHOPIFY, dtype=str)
    first = raw.drop_duplicates("Name")
    return first


def test_shopify_figures_status_and_no_personal_data(tmp_path, monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    out = tmp_path / "shop"
    run_import("shopify", [SHOPIFY], out, timezone="Europe/Berlin")
    first = _shopify_raw()
    fs = first["Financial Status"]
    kept = first[~fs.isin(["pending", "expired"])]
    valid = kept[~kept["Financial Status"].eq("voided") & kept["Cancelled at"].isna()]
    orders = table(out, "orders")
    assert len(orders) == len(kept)
    good = orders[orders.status.isin(["paid", "refunded"])]
    assert good.gmv.sum() == pytest.approx(valid.Total.astype(float).sum())
    assert (orders.status == "refunded").sum() == (valid["Financial Status"] == "refunded").sum()
    partial = orders[(orders.status == "paid") & (orders.refund_amount > 0)]
    assert len(partial) == (valid["Financial Status"] == "partially_refunded").sum()
    emails = first.Email.dropna().str.lower()
    non_guest = orders[~orders.user_id.str.startswith("guest:")]
    per_user = valid.dropna(subset=["Email"]).groupby(valid.Email.str.lower()).Name.nunique()
    got_users = good[~good.user_id.str.startswith("guest:")].groupby("user_id").order_id.nunique()
    assert sorted(got_users) == sorted(per_user)
    assert non_guest.user_id.nunique() == emails[first.Name.isin(kept.Name)].nunique()
    d = decisions(out)
    assert d["status_pending"]["count"] == (fs == "pending").sum()
    assert d["guest_orders"]["count"] == kept.Email.isna().sum()
    assert set(orders.order_id[orders.is_guest]) == set(kept.Name[kept.Email.isna()])
    assert "marked orders.is_guest" in d["guest_orders"]["text"]
    assert yaml.safe_load((out / "shop.yaml").read_text())["shop"]["currency"] == "EUR"
    # 2024-06-.. +0200 is written as Berlin wall-clock time: the hour as exported
    created = pd.to_datetime(first.set_index("Name")["Created at"].str[:19])
    assert (orders.set_index("order_id").order_ts == created[orders.order_id].values).all()
    # personal data never written
    raw = pd.read_csv(SHOPIFY, dtype=str)
    text = every_text(out)
    pii = [
        "Email",
        "Billing Name",
        "Billing Street",
        "Billing Phone",
        "Shipping Name",
        "Shipping Address1",
        "Phone",
        "Notes",
        "Payment Reference",
    ]
    for col in pii:
        for value in raw[col].dropna().unique():
            assert value not in text, (col, value)
    assert "@" not in text


def test_shopify_column_order_extra_columns_and_idempotence(tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_ENV, "test-salt")
    raw = pd.read_csv(SHOPIFY, dtype=str, keep_default_na=False)
    shuffled = raw[list(reversed(raw.columns))].assign(**{"Custom Field": "x"})
    shuffled.to_csv(tmp_path / "export.csv", index=False)
    run_import("shopify", [SHOPIFY], tmp_path / "a")
    run_import("shopify", [tmp_path / "export.csv"], tmp_path / "b")
    run_import("shopify", [SHOPIFY], tmp_path / "a", force=True)
    for name in ("orders", "order_items", "products", "users"):
        pd.testing.assert_frame_equal(table(tmp_path / "a", name), table(tmp_path / "b", name))
    monkeypatch.setenv(SALT_ENV, "another-salt")
    run_import("shopify", [SHOPIFY], tmp_path / "c")
    a, c = table(tmp_path / "a", "orders"), table(tmp_path / "c", "orders")
    assert not set(a.user_id[~a.is_guest]) & set(c.user_id[~c.is_guest])
    # same people, other ids: the orders are grouped into customers the same way
    ga = a.groupby("user_id").order_id.apply(frozenset)
    gc = c.groupby("user_id").order_id.apply(frozenset)
    assert set(ga) == set(gc)


# --- Taobao -----------------------------------------------------------------------------------


def test_taobao_order_report_gbk_figures_and_no_personal_data(tmp_path):
    out = tmp_path / "shop"
    run_import("taobao", [TAOBAO_REPORT, TAOBAO_ITEMS], out)
    raw = pd.read_csv(TAOBAO_REPORT, encoding="gbk", dtype=str, keep_default_na=False)
    status = raw["订单状态"]
    unpaid = status == "等待买家付款"
    closed_unpaid = (status == "交易关闭") & (raw["订单付款时间"] == "")
    valid = raw[~unpaid & ~closed_unpaid]
    orders = table(out, "orders")
    assert len(orders) == (~unpaid).sum()
    good = orders[orders.status.isin(["paid", "refunded"])]
    assert good.gmv.sum() == pytest.approx(valid["买家实际支付金额"].astype(float).sum())
    assert set(orders.order_id) == set(raw["订单编号"][~unpaid].str.strip('="'))
    per_buyer = valid.groupby("买家会员名")["订单编号"].nunique()
    assert sorted(good.groupby("user_id").order_id.nunique()) == sorted(per_buyer)
    d = decisions(out)
    assert d["unpaid"]["count"] == unpaid.sum()
    assert {k for k in d if k.startswith("transcoded")} == {
        f"transcoded {TAOBAO_REPORT.name}",
        f"transcoded {TAOBAO_ITEMS.name}",
    }
    # items from the item report: per order, quantity x price adds up to 买家应付货款
    items = table(out, "order_items")
    goods = (items.quantity * items.unit_price).groupby(items.order_id).sum()
    want = raw.assign(order_id=raw["订单编号"].str.strip('="')).set_index("order_id")[
        "买家应付货款"
    ]
    assert np.allclose(goods, want[goods.index].astype(float))
    assert set(goods.index) == set(orders.order_id)
    products = table(out, "products")
    assert {"LJ-250", "正山小种 红茶 200g"} <= set(products.sku)
    refunded = (status == "交易关闭") & (raw["订单付款时间"] != "")
    assert (orders.status == "refunded").sum() == refunded.sum()
    text = every_text(out)
    for col in ("买家会员名", "买家支付宝账号", "收货人姓名", "收货地址", "联系手机", "买家留言"):
        for value in raw[col].unique():
            if value:
                assert value.strip("'") not in text, (col, value)
    assert set(orders.region.dropna()) <= {"浙江省", "广东省", "上海", "江苏省", "北京"}


def test_taobao_userbehavior_events_products_users(tmp_path):
    out = tmp_path / "shop"
    run_import("taobao", [TAOBAO_LOG], out)
    raw = pd.read_csv(TAOBAO_LOG, header=None, names=["u", "item", "cat", "b", "ts"])
    events = table(out, "events")
    names = {"pv": "product_view", "cart": "add_to_cart", "buy": "purchase", "fav": "favorite"}
    assert events.event.value_counts().to_dict() == raw.b.map(names).value_counts().to_dict()
    assert table(out, "users").user_id.nunique() == raw.u.nunique()
    assert table(out, "products").sku.nunique() == raw.item.nunique()
    shanghai = pd.to_datetime(raw.ts, unit="s", utc=True).dt.tz_convert("Asia/Shanghai")
    assert events.event_ts.min() == shanghai.min().tz_localize(None)
    profile = yaml.safe_load((out / "shop.yaml").read_text())
    assert profile["shop"] == {
        "name": "Taobao shop",
        "currency": "CNY",
        "timezone": "Asia/Shanghai",
        "lang": "zh",
    }


def test_taobao_detects_neither(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"x\.csv: neither a Taobao order report"):
        run_import("taobao", [f], tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- the output folder, bad input ---------------------------------------------------------------


def test_refuses_to_overwrite_and_writes_nothing_half(tmp_path, capsys):
    out = tmp_path / "shop"
    assert cli.main(["import", "shopify", str(SHOPIFY), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "guest user id" in printed and "orders 380" in printed
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    assert cli.main(["import", "shopify", str(SHOPIFY), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already holds files" in err and "--force" in err
    # a failing import (bad data) with --force leaves the old folder as it was, no staging left
    bad = tmp_path / "bad.csv"
    bad.write_text(SHOPIFY.read_text().replace(",Total,", ",Totl,", 1))
    assert cli.main(["import", "shopify", str(bad), "--out", str(out), "--force"]) == 3
    err = capsys.readouterr().err.strip()
    assert err == f"error: {bad}: no column 'Total' (the file has 79 columns)"
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "shop"]
    # never inside the source folder
    src = tmp_path / "exports"
    src.mkdir()
    shutil.copy(SHOPIFY, src / "orders.csv")
    with pytest.raises(ParamsError, match="the source folder"):
        run_import("shopify", [src / "orders.csv"], src)
    with pytest.raises(ParamsError, match="the source folder"):
        run_import("shopify", [src], src / "tables")
    with pytest.raises(ParamsError, match="holds the source"):
        run_import("shopify", [src / "orders.csv"], tmp_path, force=True)
    assert (src / "orders.csv").is_file()


def test_bad_values_name_file_and_column(tmp_path, capsys):
    raw = pd.read_parquet(ONLINE_RETAIL).head(50)
    raw["Quantity"] = raw["Quantity"].astype(str)
    raw.loc[3, "Quantity"] = "twelve"
    raw.to_csv(tmp_path / "or.csv", index=False)
    assert (
        cli.main(
            ["import", "online-retail", str(tmp_path / "or.csv"), "--out", str(tmp_path / "o")]
        )
        == 3
    )
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {tmp_path / 'or.csv'}: column 'Quantity': 1 values are not a number "
        "(e.g. 'twelve')"
    )
    assert (
        cli.main(
            ["import", "olist", str(OLIST), "--out", str(tmp_path / "o"), "--currency", "BRLL"]
        )
        == 2
    )
    assert "--currency BRLL: unknown (did you mean 'BRL'?)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_negative_amount_is_refused(tmp_path, capsys):
    raw = SHOPIFY.read_text(encoding="utf-8").splitlines()
    i = next(k for k, line in enumerate(raw) if line.startswith("#1001,"))
    head = raw[0].split(",")
    cells = raw[i].split(",")
    assert len(cells) == len(head)  # the fixture's first order has no quoted commas
    cells[head.index("Total")] = "-12.50"
    raw[i] = ",".join(cells)
    (tmp_path / "neg.csv").write_text("\n".join(raw) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    assert cli.main(["import", "shopify", str(tmp_path / "neg.csv"), "--out", str(out)]) == 3
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {tmp_path / 'neg.csv'}: column 'Total': 1 orders with a negative amount "
        "(e.g. order #1001); GMV is what the buyer paid"
    )
    assert not out.exists()


def test_import_is_idempotent(online_retail, tmp_path):
    """The same export imported again gives the same tables and decisions (ties in the credit
    notes' matching and in the most frequent price are broken the same way every time)."""
    run_import("online-retail", [ONLINE_RETAIL], tmp_path / "again")
    for name in ("orders", "order_items", "products", "users"):
        pd.testing.assert_frame_equal(table(online_retail, name), table(tmp_path / "again", name))
    ja = json.loads((online_retail / "import.json").read_text())
    jb = json.loads((tmp_path / "again" / "import.json").read_text())
    assert ja == jb


def test_writes_the_profile_where_asked(tmp_path):
    prof = tmp_path / "profiles" / "olist.yaml"
    run_import("olist", [OLIST], tmp_path / "tables", shop_profile=prof, name="Olist BR")
    doc = yaml.safe_load(prof.read_text())
    assert doc == {
        "shop": {
            "name": "Olist BR",
            "currency": "BRL",
            "timezone": "America/Sao_Paulo",
            "lang": "en",
        },
        "data": {"url": "../tables"},
    }
    with duckdb.connect() as con:
        n = con.sql(f"SELECT count(*) FROM '{tmp_path / 'tables' / 'orders.parquet'}'").fetchone()
    assert n[0] == 8000


# --- end to end: import, then run-all over the real shops' params -------------------------------

IMPORTS = {
    "online_retail": ("online-retail", [ONLINE_RETAIL], {}),
    "olist": ("olist", [OLIST], {}),
    "shopify": ("shopify", [SHOPIFY], {"timezone": "Europe/Berlin"}),
    "taobao_events": ("taobao", [TAOBAO_LOG], {}),
    "taobao_orders": ("taobao", [TAOBAO_REPORT, TAOBAO_ITEMS], {}),
}


def _report_text(path: Path) -> str:
    import html
    import re

    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", path.read_text(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


@pytest.mark.slow
def test_import_then_run_all_over_the_real_shops(tmp_path):
    """Every import of the README, then `workbook run-all` over tests/real_shops (the params
    name the written profiles with shop:): every report the data supports is written."""
    shops = tmp_path / "data" / "shops"
    for name, (kind, srcs, opts) in IMPORTS.items():
        run_import(kind, srcs, shops / name, **opts)
    params = tmp_path / "tests" / "real_shops"
    for f in REAL_SHOPS.rglob("*.yaml"):
        dest = params / f.relative_to(REAL_SHOPS)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    reports = tmp_path / "reports"
    assert cli.main(["run-all", str(params), "--out", str(reports), "--jobs", "2"]) == 0
    written = {p.parent.name: p for p in reports.glob("*/*/report.html")}
    expected = {f.stem for f in REAL_SHOPS.rglob("*.yaml")}
    assert set(written) == expected
    # a shop without events: the KPI monitor says why there is no conversion rate
    kpi = _report_text(written["online_retail_kpi_autumn_2011"])
    assert "UV and conversion rate are not reported: the shop has no events table" in kpi
    assert "£" in kpi
    res = json.loads((written["olist_kpi_summer_2018"].parent / "results.json").read_text())
    assert res["figures"]["conversion_rate"] is None
    assert "events" in res["figures"]["not_available"]["conversion_rate"]
    assert "R$" in _report_text(written["olist_kpi_summer_2018"])
    # the funnel of Taobao's events, in Chinese (the profile's language)
    funnel = _report_text(written["taobao_funnel"])
    assert "加购" in funnel or "加入购物车" in funnel
