"""Taobao / Tmall: a seller's order report (订单报表) -> orders, users; or the UserBehavior event
log -> events, products, users. Which of the two a file is, is read from its first line: the
report has Chinese headers (订单编号...), the log has none (``user_id,item_id,category_id,
behavior,unix_ts`` with behavior pv/cart/fav/buy).

**Order report** (and its item report; CSV as the seller centre exports it, GBK or UTF-8; ``="..."`` Excel guards and
stray tabs stripped). Only the columns named here are read: the buyer's name, address, phones,
Alipay account and messages (收货人姓名, 收货地址, 联系电话, 联系手机, 买家支付宝账号, 买家留言...) are
never read into the tables; the province (the address's first word) is kept as ``region``.

- order id 订单编号; user id: 买家会员名 hashed (sha256 with a salt, prefix ``tb:``; salt random per
  import, or ``WORKBOOK_IMPORT_SALT``); order time 订单创建时间 (``paid_ts`` 订单付款时间);
- GMV = 买家实际支付金额 (what the buyer paid: goods 买家应付货款 and postage 买家应付邮费, after
  discounts); ``shipping_fee`` = 买家应付邮费, ``refund_amount`` = 退款金额;
- status 订单状态: 交易成功, 卖家已发货/等待买家确认, 买家已付款/等待卖家发货 -> paid (with a
  refund: paid with ``refund_amount``, a partial refund); 交易关闭 after payment with a refund ->
  refunded, 交易关闭 without payment -> cancelled; 等待买家付款 (not paid yet) left out, counted;
  any other status kept as written;
- items come from the item report (宝贝报表, one row per order and item, imported with its order
  report: ``workbook import taobao 订单报表.csv 宝贝报表.csv``): SKU 商家编码 (else 外部系统编号, else
  the title 标题), quantity 购买数量, unit price 价格 (before order-level discounts); items of orders
  left out are left out too. products: name 标题 and price 价格 as most often written, no category
  (``(none)``). Without an item report there are no order_items or products (宝贝种类 is the
  number of kinds, not a category).

**UserBehavior**: pv -> product_view, cart -> add_to_cart, buy -> purchase, fav -> ``favorite``
(kept as a custom event name: the events table takes any name, a funnel names the steps it wants);
times are Unix seconds, written as China time (Asia/Shanghai); products: item id with its
category id (no price in the log: ``price`` empty); users: first event as ``signup_ts``.
"""

from __future__ import annotations

import re
from pathlib import Path

from analysis_lib.errors import DataError
from analysis_lib.ingest.common import (
    NO_CATEGORY,
    Import,
    check_cast,
    csv_files,
    find_column,
    hashed_id,
    most_frequent,
    quote,
    read_raw,
    salt,
    utf8_copy,
)

DEFAULT_SHOP = {"name": "Taobao shop", "currency": "CNY", "timezone": "Asia/Shanghai", "lang": "zh"}
EVENTS = {"pv": "product_view", "cart": "add_to_cart", "buy": "purchase", "fav": "favorite"}
LOG_LINE = re.compile(r"^\s*\d+,\d+,\d+,(pv|cart|fav|buy),\d+\s*$")
REPORT = {
    "order": ("订单编号",),
    "buyer": ("买家会员名",),
    "paid": ("买家实际支付金额",),
    "created": ("订单创建时间",),
    "status": ("订单状态",),
}
REPORT_OPTIONAL = {
    "goods": ("买家应付货款",),
    "postage": ("买家应付邮费",),
    "total": ("总金额",),
    "paid_at": ("订单付款时间",),
    "refund": ("退款金额",),
    "address": ("收货地址",),
    "qty": ("宝贝总数量",),
}
ITEMS = {"order": ("订单编号",), "title": ("标题",), "price": ("价格",), "qty": ("购买数量",)}
ITEMS_OPTIONAL = {"code": ("商家编码",), "external": ("外部系统编号",)}
PAID_STATUSES = (
    "交易成功",
    "卖家已发货，等待买家确认",
    "买家已付款，等待卖家发货",
    "卖家已发货",
    "买家已付款",
    "等待卖家发货",
    "等待买家确认收货",
)
CLOSED = "交易关闭"
UNPAID = ("等待买家付款",)


# the export's files: the CSV files given, or every CSV of a folder given
files = csv_files


def kind_of(imp: Import, path: Path) -> str:
    """'log' (UserBehavior) or 'report' (订单报表), from the file's first line."""
    src = utf8_copy(imp, path)
    with src.open(encoding="utf-8-sig", errors="replace") as f:
        first = f.readline()
    if LOG_LINE.match(first):
        return "log"
    if "订单编号" in first and "买家会员名" in first:
        return "report"
    if "订单编号" in first and "购买数量" in first:
        return "items"
    raise DataError(
        f"{path}: neither a Taobao order report (订单编号 and 买家会员名 in the first line), its item "
        "report (订单编号, 购买数量) nor a UserBehavior log (user_id,item_id,category_id,"
        "pv|cart|fav|buy,timestamp)"
    )


def run(imp: Import) -> None:
    kinds = {p: kind_of(imp, p) for p in imp.sources}
    found = set(kinds.values())
    if "log" in found and len(found) > 1:
        raise DataError(
            f"{imp.sources[0]}: import order reports and UserBehavior logs separately "
            f"({', '.join(f'{p.name}: {k}' for p, k in kinds.items())})"
        )
    if found == {"items"}:
        raise DataError(
            f"{imp.sources[0]}: an item report (宝贝报表) alone: import it with its order report "
            "(订单报表), which holds the buyers, times and amounts"
        )
    imp.options["file"] = "UserBehavior log" if "log" in found else "order report"
    if "log" in found:
        _log(imp)
    else:
        _report(imp, [p for p, k in kinds.items() if k == "report"])
        item_files = [p for p, k in kinds.items() if k == "items"]
        if item_files:
            _items(imp, item_files)


def _clean(col: str) -> str:
    """A report cell without Excel's ``="..."`` guard, stray quotes and tabs."""
    return (
        f"nullif(trim(regexp_replace(CAST({quote(col)} AS VARCHAR), '^\\s*=?\"|\"\\s*$', '', 'g'),"
        " ' \t'), '')"
    )


def _report(imp: Import, paths: list[Path]) -> None:
    con = imp.con
    key, fixed = salt()
    imp.gmv_column = "买家实际支付金额"
    imp.options["salt"] = "fixed (WORKBOOK_IMPORT_SALT)" if fixed else "random for this import"
    selects = []
    for i, path in enumerate(paths):
        view = f"raw_{i}"
        cols = read_raw(imp, path, view)
        c = {k: find_column(cols, n, path) for k, n in REPORT.items()}
        c |= {k: find_column(cols, n, path, required=False) for k, n in REPORT_OPTIONAL.items()}
        con.execute(
            f"CREATE TEMP TABLE clean_{i} AS SELECT "
            + ", ".join(f"{_clean(col)} AS {k}" for k, col in c.items() if col)
            + f" FROM {view}"
        )
        for k in ("paid", "goods", "postage", "refund", "qty"):
            if c[k]:
                check_cast(imp, f"clean_{i}", k, "DOUBLE", path, label=c[k])
        for k in ("created", "paid_at"):
            if c[k]:
                check_cast(imp, f"clean_{i}", k, "TIMESTAMP", path, label=c[k])
        num = {
            k: f"TRY_CAST({k} AS DOUBLE)" if c[k] else "NULL::DOUBLE"
            for k in ("goods", "postage", "refund", "qty")
        }
        selects.append(
            f'SELECT {i} AS file_no, "order" AS order_id, '
            f"{hashed_id('buyer', key, 'tb:')} AS user_id, TRY_CAST(created AS TIMESTAMP) AS "
            f"order_ts, {'TRY_CAST(paid_at AS TIMESTAMP)' if c['paid_at'] else 'NULL::TIMESTAMP'} "
            f"AS paid_ts, TRY_CAST(paid AS DOUBLE) AS gmv, {num['goods']} AS goods, "
            f"{num['postage']} AS shipping_fee, coalesce({num['refund']}, 0) AS refund_amount, "
            f"{num['qty']} AS items, status, "
            + (
                "nullif(split_part(trim(address), ' ', 1), '') AS region"
                if c["address"]
                else "NULL::VARCHAR AS region"
            )
            + f" FROM clean_{i}"
        )
    con.execute("CREATE TEMP TABLE raw AS " + " UNION ALL ".join(selects))
    n = imp.scalar("SELECT count(*) FROM raw")
    if not n:
        raise DataError(f"{paths[0]}: no orders")
    imp.decide("orders_read", n, "order rows read")
    for col, label in (
        ("order_id", "订单编号"),
        ("user_id", "买家会员名"),
        ("order_ts", "订单创建时间"),
        ("gmv", "买家实际支付金额"),
    ):
        missing = imp.scalar(f"SELECT count(*) FROM raw WHERE {col} IS NULL")
        if missing:
            raise DataError(f"{paths[0]}: column '{label}': {missing:,} rows without a value")
    con.execute(
        "CREATE TEMP TABLE ord AS SELECT * FROM raw "
        "QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY file_no) = 1"
    )
    imp.decide(
        "duplicate_orders",
        n - imp.scalar("SELECT count(*) FROM ord"),
        "rows of an order already read (overlapping reports) dropped",
    )
    paid = ", ".join(f"'{s}'" for s in PAID_STATUSES)
    unpaid = ", ".join(f"'{s}'" for s in UNPAID)
    status = (
        f"CASE WHEN status IN ({paid}) THEN 'paid' "
        f"WHEN status = '{CLOSED}' AND paid_ts IS NOT NULL AND refund_amount > 0 THEN 'refunded' "
        f"WHEN status = '{CLOSED}' THEN 'cancelled' ELSE status END"
    )
    for st, cnt in con.execute(
        f"SELECT {status} AS s, count(*) FROM ord WHERE status NOT IN ({unpaid}) GROUP BY 1 "
        "ORDER BY 2 DESC"
    ).fetchall():
        imp.decide(f"status_{st}", cnt, f"orders with status {st}")
    imp.decide(
        "unpaid",
        imp.scalar(f"SELECT count(*) FROM ord WHERE status IN ({unpaid})"),
        "orders waiting for payment (等待买家付款) left out: import again once paid",
    )
    con.execute(
        f"CREATE TEMP TABLE orders_out AS SELECT order_id, user_id, order_ts, paid_ts, gmv, "
        f"{status} AS status, refund_amount, shipping_fee, items, region FROM ord "
        f"WHERE status NOT IN ({unpaid})"
    )
    imp.decide(
        "partial_refunds",
        imp.scalar("SELECT count(*) FROM orders_out WHERE status = 'paid' AND refund_amount > 0"),
        "paid orders with a refund (partial refund): status paid, refund_amount set",
    )
    imp.decide(
        "buyers_hashed",
        imp.scalar("SELECT count(DISTINCT user_id) FROM orders_out"),
        f"buyers by hashed member name (salt {imp.options['salt']}); names, phones, "
        "addresses, Alipay accounts not read",
    )
    imp.write("orders", "SELECT * FROM orders_out ORDER BY order_ts, order_id")
    imp.write(
        "users",
        "SELECT user_id, min(order_ts) AS signup_ts, arg_min(region, order_ts) AS region "
        "FROM orders_out GROUP BY user_id ORDER BY user_id",
    )


def _items(imp: Import, paths: list[Path]) -> None:
    con = imp.con
    selects = []
    for i, path in enumerate(paths):
        view = f"items_raw_{i}"
        cols = read_raw(imp, path, view)
        c = {k: find_column(cols, n, path) for k, n in ITEMS.items()}
        c |= {k: find_column(cols, n, path, required=False) for k, n in ITEMS_OPTIONAL.items()}
        con.execute(
            f"CREATE TEMP TABLE items_clean_{i} AS SELECT "
            + ", ".join(f"{_clean(col)} AS {k}" for k, col in c.items() if col)
            + f" FROM {view}"
        )
        for k in ("price", "qty"):
            check_cast(imp, f"items_clean_{i}", k, "DOUBLE", path, label=c[k])
        sku = ", ".join(k for k in ("code", "external") if c[k])
        selects.append(
            f'SELECT {i} AS file_no, "order" AS order_id, coalesce({sku + ", " if sku else ""}'
            "title) AS sku, title AS name, TRY_CAST(qty AS DOUBLE) AS quantity, "
            f"TRY_CAST(price AS DOUBLE) AS unit_price, {'code IS NULL' if c['code'] else 'TRUE'} "
            f"AS no_code FROM items_clean_{i}"
        )
    con.execute("CREATE TEMP TABLE item_rows AS " + " UNION ALL ".join(selects))
    imp.decide("item_rows_read", imp.scalar("SELECT count(*) FROM item_rows"), "item rows read")
    missing = imp.scalar("SELECT count(*) FROM item_rows WHERE order_id IS NULL OR sku IS NULL")
    if missing:
        raise DataError(
            f"{paths[0]}: column '订单编号' or '标题': {missing:,} rows without a value"
        )
    imp.decide(
        "items_left_out",
        imp.scalar("SELECT count(*) FROM item_rows ANTI JOIN orders_out USING (order_id)"),
        "item rows of orders not imported (unpaid, or not in the order report) left out",
    )
    imp.decide(
        "items_no_code",
        imp.scalar("SELECT count(*) FROM item_rows WHERE no_code"),
        "item rows without 商家编码: 外部系统编号 or the title used as the SKU",
    )
    con.execute(
        "CREATE TEMP TABLE items AS SELECT * FROM item_rows SEMI JOIN orders_out USING (order_id) "
        "WHERE quantity > 0"
    )
    imp.write(
        "order_items",
        "SELECT order_id, sku, sum(quantity) AS quantity, "
        "round(sum(quantity * unit_price) / sum(quantity), 6) AS unit_price FROM items "
        "GROUP BY order_id, sku ORDER BY order_id, sku",
    )
    price = most_frequent("items", "sku", "unit_price")
    name = most_frequent("items", "sku", "name")
    imp.write(
        "products",
        f"SELECT sku, '{NO_CATEGORY}' AS category, p.unit_price AS price, n.name FROM {price} p "
        f"LEFT JOIN {name} n USING (sku) ORDER BY sku",
    )


def _log(imp: Import) -> None:
    con = imp.con
    zone = imp.shop.get("timezone", "Asia/Shanghai")
    selects = []
    for i, path in enumerate(imp.sources):
        view = f"raw_{i}"
        cols = read_raw(imp, path, view, header=False)
        if len(cols) != 5:
            raise DataError(f"{path}: a UserBehavior log has 5 columns, this file {len(cols)}")
        u, item, cat, beh, ts = (quote(c) for c in cols)
        for c, what in ((cols[0], "DOUBLE"), (cols[4], "DOUBLE")):
            check_cast(imp, view, c, what, path)
        selects.append(
            f"SELECT {u} AS user_id, {item} AS sku, {cat} AS category, lower({beh}) AS behavior, "
            f"timezone('{zone}', to_timestamp(CAST({ts} AS BIGINT))) AS event_ts FROM {view}"
        )
    con.execute("CREATE TEMP TABLE ev AS " + " UNION ALL ".join(selects))
    imp.decide("events_read", imp.scalar("SELECT count(*) FROM ev"), "events read")
    for beh, cnt in con.execute(
        "SELECT behavior, count(*) FROM ev GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall():
        to = EVENTS.get(beh)
        imp.decide(
            f"behavior_{beh}",
            cnt,
            f"behavior '{beh}' -> {to}" if to else f"behavior '{beh}' unknown: dropped",
        )
    known = ", ".join(f"'{b}'" for b in EVENTS)
    mapping = " ".join(f"WHEN '{b}' THEN '{e}'" for b, e in EVENTS.items())
    imp.write(
        "events",
        f"SELECT event_ts, user_id, CASE behavior {mapping} END AS event, sku, category "
        f"FROM ev WHERE behavior IN ({known}) ORDER BY user_id, event_ts",
    )
    imp.write(
        "products",
        "SELECT sku, mode(category) AS category, NULL::DOUBLE AS price FROM ev GROUP BY sku "
        "ORDER BY sku",
    )
    imp.decide(
        "products_no_price",
        imp.tables["products"],
        "products from the log's items: category id, no price (the log has none)",
    )
    imp.write(
        "users",
        "SELECT user_id, min(event_ts) AS signup_ts FROM ev GROUP BY user_id ORDER BY user_id",
    )
    imp.decide("users_signup", imp.tables["users"], "users: first event taken as signup_ts")
