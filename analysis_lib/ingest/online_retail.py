"""UCI Online Retail / Online Retail II (a UK gift shop's invoice lines) -> orders, order_items,
products, users.

Columns, either spelling: ``InvoiceNo|Invoice, StockCode, Description, Quantity, InvoiceDate,
UnitPrice|Price, CustomerID|Customer ID, Country`` (Parquet or CSV; a CSV date may be written
``12/1/2010 8:26``, month first, as the UCI CSV has it). What it decides:

- one order per invoice; several files are one ledger: an invoice found in two files (the two
  sheets of Online Retail II overlap on 2010-12-01..09) is taken from the first file that has it;
- ``A`` invoices (bad-debt adjustments) are dropped;
- sales lines with quantity or price zero or below (stock write-offs, free lines) are dropped:
  they carry no value;
- postage lines (``POST``, ``DOT``, ``C2``) count in the order's GMV and its ``shipping_fee``, and
  are not items or products: GMV is what the invoice charged, goods and postage (UK prices include
  VAT);
- a guest (no customer id) gets the user id ``guest:<invoice>`` and ``is_guest`` true: the order
  counts in orders and GMV, the customer analyses leave it out (a guest is not a known customer),
  and the guest is not in ``users``;
- ``C`` invoices (credit notes) are refunds, recorded on the order they refund: each credit line
  is matched to the customer's latest earlier invoice holding the same stock code; the order's
  ``refund_amount`` is what was credited (capped at its GMV), and its status is ``refunded`` when
  the whole order was credited, else it stays ``paid`` (a partial refund). A credit note that
  matches no order (a guest's, or of goods bought before the data starts) is left out, counted:
  GMV is never negative;
- items: lines of one invoice and stock code summed into one (unit price = value / quantity);
  products: the most frequent description and unit price of each stock code; no category
  (``(none)``).
"""

from __future__ import annotations

from pathlib import Path

from analysis_lib.errors import DataError
from analysis_lib.ingest.common import (
    NO_CATEGORY,
    Import,
    check_cast,
    find_column,
    most_frequent,
    quote,
    read_raw,
)

DEFAULT_SHOP = {
    "name": "Online Retail",
    "currency": "GBP",
    "timezone": "Europe/London",
    "lang": "en",
}
SHIPPING_CODES = ("POST", "DOT", "C2")
COLUMNS = {
    "invoice": ("InvoiceNo", "Invoice"),
    "sku": ("StockCode",),
    "name": ("Description",),
    "quantity": ("Quantity",),
    "ts": ("InvoiceDate",),
    "price": ("UnitPrice", "Price"),
    "customer": ("CustomerID", "Customer ID"),
    "country": ("Country",),
}
TS_FORMATS = "['%m/%d/%Y %H:%M', '%m/%d/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%Y-%m-%d %H:%M']"


def files(srcs: list[Path]) -> list[Path]:
    """The export files: the files given, or every Parquet/CSV file of a folder given."""
    out: list[Path] = []
    for s in srcs:
        if s.is_dir():
            found = sorted(p for p in s.iterdir() if p.suffix.lower() in (".parquet", ".csv"))
            if not found:
                raise DataError(f"{s}: no .parquet or .csv file in this folder")
            out += found
        else:
            out.append(s)
    return out


def _select(imp: Import, path: Path, i: int) -> str:
    view = f"raw_{i}"
    cols = read_raw(imp, path, view)
    c = {k: find_column(cols, names, path) for k, names in COLUMNS.items()}
    ts = quote(c["ts"])
    ts_expr = (
        f"coalesce(TRY_CAST({ts} AS TIMESTAMP), try_strptime(CAST({ts} AS VARCHAR), {TS_FORMATS}))"
    )
    check_cast(imp, view, c["quantity"], "DOUBLE", path)
    check_cast(imp, view, c["price"], "DOUBLE", path)
    check_cast(imp, view, c["ts"], "TIMESTAMP", path, ts_expr)
    for key in ("invoice", "sku"):
        nulls = imp.scalar(
            f"SELECT count(*) FROM {view} WHERE nullif(trim(CAST({quote(c[key])} AS VARCHAR)), "
            "'') IS NULL"
        )
        if nulls:
            raise DataError(f"{path}: column '{c[key]}': {nulls:,} rows without a value")
    cust = f"regexp_replace(trim(CAST({quote(c['customer'])} AS VARCHAR)), '\\.0+$', '')"
    return (
        f"SELECT {i} AS file_no, trim(CAST({quote(c['invoice'])} AS VARCHAR)) AS invoice, "
        f"upper(trim(CAST({quote(c['sku'])} AS VARCHAR))) AS sku, "
        f"trim(CAST({quote(c['name'])} AS VARCHAR)) AS name, "
        f"CAST({quote(c['quantity'])} AS DOUBLE) AS quantity, {ts_expr} AS ts, "
        f"CAST({quote(c['price'])} AS DOUBLE) AS price, nullif({cust}, '') AS customer, "
        f"trim(CAST({quote(c['country'])} AS VARCHAR)) AS country FROM {view}"
    )


def run(imp: Import) -> None:
    con = imp.con
    selects = [_select(imp, p, i) for i, p in enumerate(imp.sources)]
    con.execute("CREATE TEMP TABLE raw AS " + " UNION ALL ".join(selects))
    n_raw = imp.scalar("SELECT count(*) FROM raw")
    if not n_raw:
        raise DataError(f"{imp.sources[0]}: no invoice lines")
    imp.decide("lines_read", n_raw, "invoice lines read")

    # one ledger: an invoice present in several files is taken from the first file holding it
    con.execute(
        "CREATE TEMP TABLE lines AS SELECT *, CASE WHEN invoice LIKE 'C%' THEN 'credit' "
        "WHEN invoice LIKE 'A%' THEN 'adjustment' ELSE 'sale' END AS kind FROM raw "
        "QUALIFY file_no = min(file_no) OVER (PARTITION BY invoice)"
    )
    dup = n_raw - imp.scalar("SELECT count(*) FROM lines")
    if len(imp.sources) > 1:
        dup_inv = imp.scalar(
            "SELECT count(*) FROM (SELECT invoice FROM raw GROUP BY invoice "
            "HAVING count(DISTINCT file_no) > 1)"
        )
        imp.decide(
            "overlap_invoices",
            dup_inv,
            "invoices found in more than one file, taken once (from the first file)",
        )
        imp.decide("overlap_lines", dup, "lines of those invoices dropped as duplicates")

    adj = con.execute(
        "SELECT count(DISTINCT invoice), count(*) FROM lines WHERE kind = 'adjustment'"
    ).fetchone()
    imp.decide("adjustments", adj[0], "'A' invoices (bad-debt adjustments) dropped")

    bad = con.execute(
        "SELECT count(*), coalesce(sum(quantity * price), 0) FROM lines "
        "WHERE kind = 'sale' AND (quantity <= 0 OR price <= 0)"
    ).fetchone()
    imp.decide(
        "zero_lines",
        bad[0],
        "sales lines with quantity or price zero or below dropped (write-offs, free lines)",
        bad[1],
    )
    con.execute(
        "CREATE TEMP TABLE sales AS SELECT *, quantity * price AS value, "
        "coalesce(customer, 'guest:' || invoice) AS user_id, "
        f"sku IN {SHIPPING_CODES} AS is_shipping FROM lines "
        "WHERE kind = 'sale' AND quantity > 0 AND price > 0"
    )
    con.execute(
        "CREATE TEMP TABLE ord AS SELECT invoice AS order_id, any_value(user_id) AS user_id, "
        "min(ts) AS order_ts, round(sum(value), 6) AS gmv, "
        "round(coalesce(sum(value) FILTER (WHERE is_shipping), 0), 6) AS shipping_fee, "
        "any_value(country) AS region, bool_and(customer IS NULL) AS is_guest "
        "FROM sales GROUP BY invoice"
    )
    empty = imp.scalar(
        "SELECT count(DISTINCT invoice) FROM lines WHERE kind = 'sale' "
        "AND invoice NOT IN (SELECT order_id FROM ord)"
    )
    imp.decide("empty_invoices", empty, "sales invoices left without a line (no order)")
    imp.decide(
        "guest_orders",
        imp.scalar("SELECT count(*) FROM ord WHERE is_guest"),
        "guest orders (no customer id): user id guest:<invoice>, marked orders.is_guest (counted as "
        "orders and GMV, left out of the customer analyses)",
    )
    imp.decide(
        "shipping_lines",
        imp.scalar("SELECT count(*) FROM sales WHERE is_shipping"),
        f"postage lines ({', '.join(SHIPPING_CODES)}) in GMV and shipping_fee, not items",
        imp.scalar("SELECT sum(value) FROM sales WHERE is_shipping"),
    )

    # credit notes: each line matched to the customer's latest earlier invoice with that code
    con.execute(
        "CREATE TEMP TABLE credit AS SELECT invoice, customer, sku, ts, "
        "-(quantity * price) AS amount FROM lines WHERE kind = 'credit'"
    )
    con.execute(
        "CREATE TEMP TABLE bought AS SELECT customer, sku, ts, max(invoice) AS invoice FROM sales "
        "WHERE customer IS NOT NULL GROUP BY ALL"
    )
    con.execute(
        "CREATE TEMP TABLE matched AS SELECT c.*, b.invoice AS order_id FROM credit c "
        "ASOF LEFT JOIN bought b ON c.customer = b.customer AND c.sku = b.sku AND c.ts >= b.ts"
    )
    cn = con.execute(
        "SELECT count(DISTINCT invoice), count(*), coalesce(sum(amount), 0) FROM credit"
    ).fetchone()
    imp.decide("credit_notes", cn[0], "'C' invoices (credit notes) read as refunds", cn[2])
    m = con.execute(
        "SELECT count(*) FILTER (WHERE order_id IS NOT NULL), "
        "coalesce(sum(amount) FILTER (WHERE order_id IS NOT NULL), 0), "
        "count(*) FILTER (WHERE order_id IS NULL AND customer IS NULL), "
        "coalesce(sum(amount) FILTER (WHERE order_id IS NULL AND customer IS NULL), 0), "
        "count(*) FILTER (WHERE order_id IS NULL AND customer IS NOT NULL), "
        "coalesce(sum(amount) FILTER (WHERE order_id IS NULL AND customer IS NOT NULL), 0) "
        "FROM matched"
    ).fetchone()
    imp.decide(
        "credit_lines_matched",
        m[0],
        "credit lines matched to the order they refund (latest earlier invoice of the customer "
        "with that stock code)",
        m[1],
    )
    imp.decide(
        "credit_lines_guest", m[2], "credit lines of guests left out (no order to match)", m[3]
    )
    imp.decide(
        "credit_lines_unmatched",
        m[4],
        "credit lines with no earlier purchase of that code by the customer left out",
        m[5],
    )
    con.execute(
        "CREATE TEMP TABLE refunds AS SELECT order_id, round(sum(amount), 6) AS refund FROM matched "
        "WHERE order_id IS NOT NULL GROUP BY order_id"
    )
    con.execute(
        "CREATE TEMP TABLE orders_out AS SELECT o.order_id, o.user_id, o.order_ts, o.gmv, "
        "CASE WHEN r.refund >= o.gmv - 0.005 THEN 'refunded' ELSE 'paid' END AS status, "
        "CASE WHEN r.refund IS NULL THEN 0.0 ELSE least(r.refund, o.gmv) END AS refund_amount, "
        "o.shipping_fee, o.region, o.is_guest, coalesce(r.refund > o.gmv + 0.005, false) AS capped "
        "FROM ord o LEFT JOIN refunds r USING (order_id)"
    )
    st = con.execute(
        "SELECT count(*) FILTER (WHERE status = 'refunded'), "
        "count(*) FILTER (WHERE status = 'paid' AND refund_amount > 0), "
        "count(*) FILTER (WHERE capped) FROM orders_out"
    ).fetchone()
    imp.decide("orders_refunded", st[0], "orders credited in full: status refunded")
    imp.decide("orders_partial", st[1], "orders credited in part: status paid, refund_amount set")
    imp.decide(
        "refund_capped", st[2], "orders credited above their GMV: refund_amount capped at GMV"
    )

    imp.write(
        "orders",
        "SELECT order_id, user_id, order_ts, gmv, status, refund_amount, shipping_fee, region, "
        "is_guest FROM orders_out ORDER BY order_ts, order_id",
    )
    merged = imp.scalar(
        "SELECT count(*) - count(DISTINCT (invoice, sku)) FROM sales WHERE NOT is_shipping"
    )
    imp.decide(
        "merged_lines", merged, "lines of the same invoice and stock code summed into one item"
    )
    imp.write(
        "order_items",
        "SELECT invoice AS order_id, sku, sum(quantity) AS quantity, "
        "round(sum(value) / sum(quantity), 6) AS unit_price FROM sales WHERE NOT is_shipping "
        "GROUP BY invoice, sku ORDER BY invoice, sku",
    )
    price = most_frequent("sales", "sku", "price", "NOT is_shipping")
    name = most_frequent("sales", "sku", "name", "NOT is_shipping")
    imp.write(
        "products",
        f"SELECT sku, '{NO_CATEGORY}' AS category, p.price, n.name FROM {price} p "
        f"LEFT JOIN {name} n USING (sku) ORDER BY sku",
    )
    imp.write(
        "users",
        "SELECT customer AS user_id, min(ts) AS signup_ts, arg_min(country, ts) AS region "
        "FROM sales WHERE customer IS NOT NULL GROUP BY customer ORDER BY customer",
    )
