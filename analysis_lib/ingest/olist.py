"""Olist (the Brazilian marketplace's public relational CSVs) -> orders, order_items, products,
users.

Files, found by name in the folder (or the files) given: ``olist_orders_dataset``,
``olist_customers_dataset`` (required), ``olist_order_items_dataset``,
``olist_order_payments_dataset``, ``olist_products_dataset``,
``product_category_name_translation`` (CSV or Parquet). What it decides:

- the user is ``customer_unique_id`` (Olist's ``customer_id`` is one per order);
- status: delivered, shipped, invoiced, processing, approved -> paid; canceled, unavailable ->
  cancelled; created (placed, never approved: no payment taken) -> cancelled; any other status is
  kept as written (the report's data-quality section counts it);
- GMV: by default the items' prices plus freight (``--gmv items``: what the order was for,
  shipping included; Brazilian prices include tax); ``--gmv payments`` takes the sum of the
  payments instead, which adds instalment interest and counts vouchers. ``shipping_fee`` is the
  freight either way; an order with no items (or no payments) has GMV 0, counted;
- items: one row per order and product (Olist has one row per unit): quantity = units, unit
  price = their mean price; products: the products sold, category in English (the translation
  file; the Portuguese name when it has none, ``(none)`` when the product has no category),
  price = the median price it sold at (Olist has no list price).
"""

from __future__ import annotations

from pathlib import Path

from analysis_lib.errors import DataError
from analysis_lib.ingest.common import NO_CATEGORY, Import, check_cast, find_column, read_raw

DEFAULT_SHOP = {"name": "Olist", "currency": "BRL", "timezone": "America/Sao_Paulo", "lang": "en"}
NAMES = {
    "orders": "olist_orders_dataset",
    "customers": "olist_customers_dataset",
    "items": "olist_order_items_dataset",
    "payments": "olist_order_payments_dataset",
    "products": "olist_products_dataset",
    "translation": "product_category_name_translation",
}
PAID = ("delivered", "shipped", "invoiced", "processing", "approved")
CANCELLED = ("canceled", "cancelled", "unavailable", "created")


def files(srcs: list[Path]) -> list[Path]:
    out: list[Path] = []
    for s in srcs:
        out += sorted(s.iterdir()) if s.is_dir() else [s]
    return [p for p in out if p.suffix.lower() in (".csv", ".parquet")]


def _find(imp: Import) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in imp.sources:
        for key, stem in NAMES.items():
            if p.stem.lower() == stem:
                found[key] = p
    for key in ("orders", "customers"):
        if key not in found:
            where = ", ".join(str(s) for s in imp.sources[:3]) or "the sources"
            raise DataError(f"{where}: no {NAMES[key]}.csv among the Olist files given")
    return found


def _view(imp: Import, key: str, path: Path, cols: dict[str, str]) -> None:
    """Register ``path`` as view ``key`` with the columns ``cols`` (name -> type) checked."""
    have = read_raw(imp, path, f"raw_{key}")
    select = []
    for col, typ in cols.items():
        c = find_column(have, (col,), path)
        if typ != "VARCHAR":
            check_cast(imp, f"raw_{key}", c, typ, path)
        select.append(f'TRY_CAST("{c}" AS {typ}) AS {col}')
    imp.con.execute(f"CREATE TEMP TABLE {key} AS SELECT {', '.join(select)} FROM raw_{key}")


def run(imp: Import) -> None:
    con = imp.con
    gmv_from = imp.options.get("gmv") or "items"
    imp.options["gmv"] = gmv_from
    imp.gmv_column = "price + freight_value" if gmv_from == "items" else "payment_value"
    f = _find(imp)
    _view(
        imp,
        "orders",
        f["orders"],
        {
            "order_id": "VARCHAR",
            "customer_id": "VARCHAR",
            "order_status": "VARCHAR",
            "order_purchase_timestamp": "TIMESTAMP",
        },
    )
    _view(
        imp,
        "customers",
        f["customers"],
        {
            "customer_id": "VARCHAR",
            "customer_unique_id": "VARCHAR",
            "customer_city": "VARCHAR",
            "customer_state": "VARCHAR",
        },
    )
    if "items" in f:
        _view(
            imp,
            "items",
            f["items"],
            {
                "order_id": "VARCHAR",
                "product_id": "VARCHAR",
                "price": "DOUBLE",
                "freight_value": "DOUBLE",
            },
        )
    elif gmv_from == "items":
        raise DataError(
            f"{f['orders'].parent}: no {NAMES['items']}.csv (needed for GMV from items; "
            "--gmv payments uses the payments file)"
        )
    else:
        con.execute(
            "CREATE TEMP TABLE items (order_id VARCHAR, product_id VARCHAR, "
            "price DOUBLE, freight_value DOUBLE)"
        )
    if "payments" in f:
        _view(imp, "payments", f["payments"], {"order_id": "VARCHAR", "payment_value": "DOUBLE"})
    elif gmv_from == "payments":
        raise DataError(f"{f['orders'].parent}: no {NAMES['payments']}.csv (--gmv payments)")

    n = imp.scalar("SELECT count(*) FROM orders")
    imp.decide("orders_read", n, "orders read")
    nulls = imp.scalar("SELECT count(*) FROM orders WHERE order_id IS NULL")
    if nulls:
        raise DataError(f"{f['orders']}: column 'order_id': {nulls:,} rows without a value")
    dups = imp.scalar("SELECT count(*) - count(DISTINCT order_id) FROM orders")
    if dups:
        raise DataError(f"{f['orders']}: column 'order_id': {dups:,} order ids appear twice")
    dup_c = imp.scalar("SELECT count(*) - count(DISTINCT customer_id) FROM customers")
    if dup_c:
        raise DataError(
            f"{f['customers']}: column 'customer_id': {dup_c:,} customer ids appear twice"
        )
    orphans = imp.scalar("SELECT count(*) FROM orders o ANTI JOIN customers c USING (customer_id)")
    imp.decide(
        "no_customer", orphans, "orders whose customer_id is not in the customers file dropped"
    )

    paid = ", ".join(f"'{s}'" for s in PAID)
    cancelled = ", ".join(f"'{s}'" for s in CANCELLED)
    for row in con.execute(
        "SELECT lower(order_status), count(*) FROM orders GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall():
        to = "paid" if row[0] in PAID else "cancelled" if row[0] in CANCELLED else "kept as written"
        imp.decide(f"status_{row[0]}", row[1], f"status '{row[0]}' -> {to}")

    con.execute(
        "CREATE TEMP TABLE item_sum AS SELECT order_id, round(sum(price), 6) AS goods, "
        "round(sum(freight_value), 6) AS freight FROM items GROUP BY order_id"
    )
    if "payments" in f:
        con.execute(
            "CREATE TEMP TABLE pay_sum AS SELECT order_id, round(sum(payment_value), 6) AS paid "
            "FROM payments GROUP BY order_id"
        )
    else:
        con.execute("CREATE TEMP TABLE pay_sum (order_id VARCHAR, paid DOUBLE)")
    gmv = "coalesce(i.goods + i.freight, 0)" if gmv_from == "items" else "coalesce(p.paid, 0)"
    con.execute(
        "CREATE TEMP TABLE ord AS SELECT o.order_id, c.customer_unique_id AS user_id, "
        f"o.order_purchase_timestamp AS order_ts, {gmv} AS gmv, "
        f"CASE WHEN lower(o.order_status) IN ({paid}) THEN 'paid' "
        f"WHEN lower(o.order_status) IN ({cancelled}) THEN 'cancelled' "
        "ELSE o.order_status END AS status, coalesce(i.freight, 0) AS shipping_fee, "
        "c.customer_state AS region, c.customer_city AS city, "
        "i.order_id IS NULL AS no_items, p.order_id IS NULL AS no_payments "
        "FROM orders o JOIN customers c USING (customer_id) "
        "LEFT JOIN item_sum i USING (order_id) LEFT JOIN pay_sum p USING (order_id)"
    )
    missing = "no_items" if gmv_from == "items" else "no_payments"
    imp.decide(
        "gmv_source",
        imp.scalar("SELECT count(*) FROM ord"),
        "GMV = item prices + freight (--gmv payments: payments incl. instalment interest)"
        if gmv_from == "items"
        else "GMV = payments incl. instalment interest and vouchers (--gmv items: prices + freight)",
        imp.scalar("SELECT sum(gmv) FROM ord WHERE status = 'paid'"),
    )
    imp.decide(
        "gmv_zero",
        imp.scalar(f"SELECT count(*) FROM ord WHERE {missing} AND status = 'paid'"),
        f"paid orders with no {'items' if gmv_from == 'items' else 'payments'}: GMV 0",
    )
    if "payments" in f and "items" in f:
        diff = imp.scalar(
            "SELECT sum(p.paid) - sum(i.goods + i.freight) FROM ord o JOIN item_sum i "
            "USING (order_id) JOIN pay_sum p USING (order_id) WHERE o.status = 'paid'"
        )
        imp.decide(
            "payments_minus_items",
            imp.scalar("SELECT count(*) FROM ord WHERE NOT no_items AND NOT no_payments"),
            "orders with both items and payments; value: payments minus items (interest, vouchers)",
            diff,
        )
    imp.write(
        "orders",
        "SELECT order_id, user_id, order_ts, gmv, status, shipping_fee, region FROM ord "
        "ORDER BY order_ts, order_id",
    )
    imp.write(
        "order_items",
        "SELECT order_id, product_id AS sku, count(*) AS quantity, round(avg(price), 6) AS unit_price "
        "FROM items WHERE order_id IN (SELECT order_id FROM ord) GROUP BY order_id, product_id "
        "ORDER BY order_id, sku",
    )
    if "products" in f:
        _view(
            imp,
            "catalogue",
            f["products"],
            {"product_id": "VARCHAR", "product_category_name": "VARCHAR"},
        )
    else:
        con.execute(
            "CREATE TEMP TABLE catalogue (product_id VARCHAR, product_category_name VARCHAR)"
        )
    if "translation" in f:
        _view(
            imp,
            "translation",
            f["translation"],
            {"product_category_name": "VARCHAR", "product_category_name_english": "VARCHAR"},
        )
    else:
        con.execute(
            "CREATE TEMP TABLE translation (product_category_name VARCHAR, "
            "product_category_name_english VARCHAR)"
        )
    con.execute(
        "CREATE TEMP TABLE prod AS SELECT i.product_id AS sku, "
        f"coalesce(t.product_category_name_english, c.product_category_name, '{NO_CATEGORY}') "
        "AS category, median(i.price) AS price, "
        "c.product_id IS NULL AS not_in_catalogue, c.product_category_name IS NULL AS no_cat, "
        "c.product_category_name IS NOT NULL AND t.product_category_name_english IS NULL AS pt "
        "FROM items i LEFT JOIN (SELECT DISTINCT ON (product_id) * FROM catalogue) c "
        "USING (product_id) LEFT JOIN translation t USING (product_category_name) "
        "WHERE i.order_id IN (SELECT order_id FROM ord) GROUP BY ALL"
    )
    imp.decide(
        "products_no_category",
        imp.scalar("SELECT count(*) FROM prod WHERE no_cat"),
        f"products sold without a category (or not in the catalogue): category {NO_CATEGORY}",
    )
    imp.decide(
        "products_untranslated",
        imp.scalar("SELECT count(*) FROM prod WHERE pt"),
        "products whose category has no English name: Portuguese name kept",
    )
    imp.decide(
        "catalogue_unsold",
        imp.scalar(
            "SELECT count(DISTINCT product_id) FROM catalogue ANTI JOIN prod "
            "ON catalogue.product_id = prod.sku"
        ),
        "catalogue products not sold in these orders left out (no price to give them)",
    )
    imp.write("products", "SELECT sku, category, price FROM prod ORDER BY sku")
    imp.write(
        "users",
        "SELECT user_id, min(order_ts) AS signup_ts, arg_min(region, order_ts) AS region, "
        "arg_min(city, order_ts) AS city FROM ord GROUP BY user_id ORDER BY user_id",
    )
