"""Shopify's orders export CSV (one row per line item; the order's own fields on its first row
only) -> orders, order_items, products, users.

Columns are found by name in any order; extra columns are ignored, and only the columns named
here are ever read into the tables (an allow-list: names, addresses, phones, notes and payment
references never reach the output). What it decides:

- order id: ``Name`` (``#1001``); order time: ``Created at`` (its UTC offset honoured, written
  as the shop's wall-clock time);
- user id: the ``Email`` hashed (sha256 with a salt, 16 hex digits, prefix ``sh:``): the salt is
  random per import, or ``WORKBOOK_IMPORT_SALT`` to keep ids the same across imports; the e-mail
  itself is never written. No e-mail (a POS walk-in): a guest, ``guest:<Name>`` with ``is_guest``
  true: an order, left out of the customer analyses, not in ``users``;
- status from ``Financial Status``: paid, partially_paid, authorized, partially_refunded -> paid
  (``refund_amount`` = ``Refunded Amount``); refunded -> refunded; voided -> cancelled; an order
  with ``Cancelled at`` -> cancelled; pending and expired (no money taken yet) are left out,
  counted: import again once they are paid;
- GMV = ``Total`` (what the buyer paid: the subtotal after discounts, shipping and taxes);
  ``shipping_fee`` = ``Shipping``, ``discount`` = ``Discount Amount``, ``tax`` = ``Taxes``,
  ``channel`` = ``Source``, ``region`` = the shipping (else billing) country;
- items: ``Lineitem sku`` (the line's name when it has no SKU), quantities summed per order and
  SKU, unit price = ``Lineitem price``; products: name and brand (``Vendor``) as most often
  written, price = the most frequent line price, no category (``(none)``).
"""

from __future__ import annotations

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
)

DEFAULT_SHOP = {"name": "Shopify shop", "timezone": "UTC", "lang": "en"}
REQUIRED = {
    "name": "Name",
    "financial": "Financial Status",
    "created": "Created at",
    "total": "Total",
    "qty": "Lineitem quantity",
    "li_name": "Lineitem name",
    "li_price": "Lineitem price",
}
OPTIONAL = {
    "email": "Email",
    "li_sku": "Lineitem sku",
    "cancelled": "Cancelled at",
    "refunded": "Refunded Amount",
    "shipping": "Shipping",
    "taxes": "Taxes",
    "discount": "Discount Amount",
    "currency": "Currency",
    "source": "Source",
    "vendor": "Vendor",
    "ship_country": "Shipping Country",
    "bill_country": "Billing Country",
}
PAID = ("paid", "partially_paid", "authorized", "partially_refunded")
PENDING = ("pending", "expired")
TS = "['%Y-%m-%d %H:%M:%S %z', '%Y-%m-%dT%H:%M:%S%z', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']"


# the export's files: the CSV files given, or every CSV of a folder given
files = csv_files


def _ts(col: str, zone: str) -> str:
    """A ``Created at`` text as the shop's wall-clock time (an offset converted, none taken as
    already local)."""
    q = f"trim({quote(col)})"
    return (
        f"CASE WHEN regexp_matches({q}, '[+-]\\d\\d:?\\d\\d$|Z$') "
        f"THEN timezone('{zone}', try_strptime(replace({q}, 'Z', '+0000'), {TS})::TIMESTAMPTZ) "
        f"ELSE try_strptime({q}, {TS})::TIMESTAMP END"
    )


def _num(col: str | None) -> str:
    if col is None:
        return "NULL::DOUBLE"
    return f"TRY_CAST(replace(trim({quote(col)}), ',', '') AS DOUBLE)"


def _text(col: str | None) -> str:
    return "NULL::VARCHAR" if col is None else f"nullif(trim({quote(col)}), '')"


def run(imp: Import) -> None:
    con = imp.con
    zone = imp.shop.get("timezone", "UTC")
    key, fixed = salt()
    imp.gmv_column = "Total"
    imp.options["salt"] = "fixed (WORKBOOK_IMPORT_SALT)" if fixed else "random for this import"
    selects = []
    for i, path in enumerate(imp.sources):
        view = f"raw_{i}"
        cols = read_raw(imp, path, view)
        c = {k: find_column(cols, (n,), path) for k, n in REQUIRED.items()}
        c |= {k: find_column(cols, (n,), path, required=False) for k, n in OPTIONAL.items()}
        for k in ("qty", "li_price", "total", "refunded", "shipping", "taxes", "discount"):
            if c[k]:
                check_cast(imp, view, c[k], "DOUBLE", path, _num(c[k]))
        check_cast(imp, view, c["created"], "TIMESTAMP", path, _ts(c["created"], zone))
        email = _text(c["email"])
        selects.append(
            f"SELECT {i} AS file_no, row_number() OVER () AS rn, {_text(c['name'])} AS name, "
            f"CASE WHEN {email} IS NULL THEN NULL ELSE {hashed_id(email, key, 'sh:')} END "
            f"AS user_hash, lower({_text(c['financial'])}) AS financial, "
            f"{_ts(c['created'], zone)} AS created, {_text(c['cancelled'])} AS cancelled, "
            f"{_num(c['total'])} AS total, {_num(c['refunded'])} AS refunded, "
            f"{_num(c['shipping'])} AS shipping, {_num(c['taxes'])} AS taxes, "
            f"{_num(c['discount'])} AS discount, upper({_text(c['currency'])}) AS currency, "
            f"lower({_text(c['source'])}) AS source, {_text(c['vendor'])} AS vendor, "
            f"coalesce({_text(c['ship_country'])}, {_text(c['bill_country'])}) AS country, "
            f"{_num(c['qty'])} AS qty, {_text(c['li_name'])} AS li_name, "
            f"{_num(c['li_price'])} AS li_price, {_text(c['li_sku'])} AS li_sku FROM {view}"
        )
    con.execute("CREATE TEMP TABLE raw AS " + " UNION ALL ".join(selects))
    n = imp.scalar("SELECT count(*) FROM raw")
    if not n:
        raise DataError(f"{imp.sources[0]}: no rows")
    no_name = imp.scalar("SELECT count(*) FROM raw WHERE name IS NULL")
    if no_name:
        raise DataError(f"{imp.sources[0]}: column 'Name': {no_name:,} rows without an order name")
    imp.decide("rows_read", n, "line-item rows read")

    # an order exported twice (overlapping exports): taken from the first file holding it
    con.execute(
        "CREATE TEMP TABLE lines AS SELECT * FROM raw "
        "QUALIFY file_no = min(file_no) OVER (PARTITION BY name)"
    )
    if len(imp.sources) > 1:
        imp.decide(
            "overlap_rows",
            n - imp.scalar("SELECT count(*) FROM lines"),
            "rows of orders found in more than one file dropped as duplicates",
        )
    con.execute(
        "CREATE TEMP TABLE ord AS SELECT name AS order_id, any_value(user_hash) AS user_hash, "
        "any_value(financial) AS financial, min(created) AS order_ts, "
        "any_value(cancelled) AS cancelled, any_value(total) AS total, "
        "any_value(refunded) AS refunded, any_value(shipping) AS shipping, "
        "any_value(taxes) AS taxes, any_value(discount) AS discount, "
        "any_value(currency) AS currency, any_value(source) AS channel, "
        "any_value(country) AS region FROM lines GROUP BY name"
    )
    currencies = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT currency FROM ord WHERE currency IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    if len(currencies) > 1:
        raise DataError(
            f"{imp.sources[0]}: column 'Currency': orders in {', '.join(currencies)}; "
            "import one currency at a time (one file per currency)"
        )
    if currencies and "currency" not in imp.shop:
        imp.shop["currency"] = currencies[0]
    no_total = imp.scalar("SELECT count(*) FROM ord WHERE total IS NULL")
    if no_total:
        raise DataError(
            f"{imp.sources[0]}: column 'Total': {no_total:,} orders without a total on any row"
        )
    no_ts = imp.scalar("SELECT count(*) FROM ord WHERE order_ts IS NULL")
    if no_ts:
        raise DataError(f"{imp.sources[0]}: column 'Created at': {no_ts:,} orders without a date")

    paid = ", ".join(f"'{s}'" for s in PAID)
    pending = ", ".join(f"'{s}'" for s in PENDING)
    status = (
        "CASE WHEN cancelled IS NOT NULL OR financial = 'voided' THEN 'cancelled' "
        f"WHEN financial IN ({paid}) THEN 'paid' WHEN financial = 'refunded' THEN 'refunded' "
        "ELSE financial END"
    )
    for fs, cnt, canc in con.execute(
        "SELECT financial, count(*), count(cancelled) FROM ord GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall():
        to = (
            "left out (not paid yet)"
            if fs in PENDING
            else "paid"
            if fs in PAID
            else "refunded"
            if fs == "refunded"
            else "cancelled"
            if fs == "voided"
            else "kept as written"
        )
        imp.decide(f"status_{fs}", cnt, f"Financial Status '{fs}' -> {to}")
        if canc and fs not in PENDING:
            imp.decide(
                f"cancelled_{fs}", canc, "of which cancelled (Cancelled at set) -> cancelled"
            )
    con.execute(
        f"CREATE TEMP TABLE orders_out AS SELECT order_id, coalesce(user_hash, 'guest:' || order_id) "
        f"AS user_id, order_ts, total AS gmv, {status} AS status, "
        "CASE WHEN financial = 'refunded' THEN coalesce(refunded, total) "
        "ELSE coalesce(refunded, 0) END AS refund_amount, "
        "shipping AS shipping_fee, discount, taxes AS tax, channel, region, "
        "user_hash IS NULL AS is_guest FROM ord "
        f"WHERE financial IS NULL OR financial NOT IN ({pending})"
    )
    imp.decide(
        "guest_orders",
        imp.scalar("SELECT count(*) FROM orders_out WHERE is_guest"),
        "orders without an e-mail: guest user id guest:<Name>, marked orders.is_guest (counted as "
        "orders and GMV, left out of the customer analyses)",
    )
    imp.decide(
        "partial_refunds",
        imp.scalar("SELECT count(*) FROM orders_out WHERE status = 'paid' AND refund_amount > 0"),
        "partially refunded orders: status paid, refund_amount = Refunded Amount",
    )
    imp.decide(
        "emails_hashed",
        imp.scalar("SELECT count(DISTINCT user_id) FROM orders_out WHERE NOT is_guest"),
        f"customers by hashed e-mail (salt {imp.options['salt']}); e-mails not written",
    )
    imp.write("orders", "SELECT * FROM orders_out ORDER BY order_ts, order_id")
    con.execute(
        "CREATE TEMP TABLE items AS SELECT l.name AS order_id, coalesce(li_sku, li_name) AS sku, "
        "li_sku IS NULL AS no_sku, qty, li_price, li_name, vendor FROM lines l "
        "JOIN orders_out o ON o.order_id = l.name WHERE qty IS NOT NULL AND qty > 0 "
        "AND coalesce(li_sku, li_name) IS NOT NULL"
    )
    imp.decide(
        "items_no_sku",
        imp.scalar("SELECT count(*) FROM items WHERE no_sku"),
        "line items without a SKU: the line's name used as its SKU",
    )
    imp.write(
        "order_items",
        "SELECT order_id, sku, sum(qty) AS quantity, round(sum(qty * li_price) / sum(qty), 6) "
        "AS unit_price "
        "FROM items GROUP BY order_id, sku ORDER BY order_id, sku",
    )
    price = most_frequent("items", "sku", "li_price")
    name = most_frequent("items", "sku", "li_name")
    brand = most_frequent("items", "sku", "vendor")
    imp.write(
        "products",
        f"SELECT sku, '{NO_CATEGORY}' AS category, p.li_price AS price, n.li_name AS name, "
        f"b.vendor AS brand FROM {price} p LEFT JOIN {name} n USING (sku) "
        f"LEFT JOIN {brand} b USING (sku) ORDER BY sku",
    )
    imp.write(
        "users",
        "SELECT user_id, min(order_ts) AS signup_ts, arg_min(region, order_ts) AS region "
        "FROM orders_out WHERE NOT is_guest GROUP BY user_id ORDER BY user_id",
    )
