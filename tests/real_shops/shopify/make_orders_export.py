"""Writes orders_export.csv beside this file: a SYNTHETIC Shopify orders export (fictional shop,
people, e-mails, addresses and phones; fixed seed), for the importer's tests.

The column list and layout are those of Shopify's native orders export ("Export orders" in the
Shopify admin; columns as listed in the Shopify Help Center page "Exporting orders", cross-checked
with the orders templates documented by Matrixify and Webtoffee): one row per line item, the
order's own fields (e-mail, statuses, amounts, addresses) on its first row only, times written
``2024-03-05 14:03:11 +0100``. Run ``python tests/real_shops/shopify/make_orders_export.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")  # the fictional shop's time zone: offsets as Shopify writes

COLUMNS = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Shipping Name",
    "Shipping Street",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping Company",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Shipping Phone",
    "Notes",
    "Note Attributes",
    "Cancelled at",
    "Payment Method",
    "Payment Reference",
    "Refunded Amount",
    "Vendor",
    "Outstanding Balance",
    "Employee",
    "Location",
    "Device ID",
    "Id",
    "Tags",
    "Risk Level",
    "Source",
    "Lineitem discount",
    "Tax 1 Name",
    "Tax 1 Value",
    "Tax 2 Name",
    "Tax 2 Value",
    "Tax 3 Name",
    "Tax 3 Value",
    "Tax 4 Name",
    "Tax 4 Value",
    "Tax 5 Name",
    "Tax 5 Value",
    "Phone",
    "Receipt Number",
    "Duties",
    "Billing Province Name",
    "Shipping Province Name",
    "Payment ID",
    "Payment Terms Name",
    "Next Payment Due At",
    "Payment References",
]
FIRST = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas"]
LAST = ["Keller", "Lang", "Moser", "Novak", "Ortiz", "Pohl", "Quinn", "Roth", "Stein", "Thiel"]
CITIES = [
    ("Berlin", "10115", "DE"),
    ("Wien", "1010", "AT"),
    ("Paris", "75001", "FR"),
    ("Amsterdam", "1012", "NL"),
    ("Hamburg", "20095", "DE"),
]
PRODUCTS = [
    (f"TEA-{i:03d}", name, price, vendor)
    for i, (name, price, vendor) in enumerate(
        [
            ("Green tea 100 g", 8.5, "Leaf & Co"),
            ("Black tea 250 g", 12.0, "Leaf & Co"),
            ("Oolong 100 g", 14.9, "Leaf & Co"),
            ("Teapot glass 1 l", 29.0, "Brewware"),
            ("Tea cups set of 4", 24.5, "Brewware"),
            ("Matcha 30 g", 19.9, "Kyoto Fields"),
            ("Chai mix 200 g", 9.9, "Spice Route"),
            ("Herbal tea 50 bags", 6.5, "Spice Route"),
            ("Gift box", 39.0, "Leaf & Co"),
            ("Strainer", 4.9, "Brewware"),
        ]
    )
]


def main(out: Path, n_orders: int = 400, seed: int = 7) -> None:
    rng = random.Random(seed)
    people = []
    for i in range(150):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city = rng.choice(CITIES)
        people.append(
            {
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}{i}@example.com",
                "street": f"{rng.randint(1, 99)} Example Street",
                "city": city,
                "phone": f"+49 30 {rng.randint(1000000, 9999999)}",
            }
        )
    start = dt.datetime(2024, 1, 1, 8, 0)
    rows = []
    for k in range(n_orders):
        guest = rng.random() < 0.08
        p = rng.choice(people) if not guest else None
        created = start + dt.timedelta(minutes=rng.randint(0, 180 * 24 * 60))
        offset = created.replace(tzinfo=BERLIN).strftime("%z")
        lines = rng.sample(PRODUCTS, rng.choice([1, 1, 1, 2, 2, 3]))
        qtys = [rng.choice([1, 1, 1, 2, 3]) for _ in lines]
        subtotal = round(sum(q * pr[2] for q, pr in zip(qtys, lines, strict=True)), 2)
        discount = round(subtotal * 0.1, 2) if rng.random() < 0.2 else 0.0
        shipping = 0.0 if subtotal >= 50 else 4.9
        taxes = round((subtotal - discount) * 0.19 / 1.19, 2)  # VAT included in prices
        total = round(subtotal - discount + shipping, 2)
        r = rng.random()
        fin, cancelled, refunded = "paid", "", 0.0
        if r < 0.05:
            fin = "pending"
        elif r < 0.08:
            fin, refunded = "refunded", total
        elif r < 0.13:
            fin, refunded = "partially_refunded", round(lines[0][2], 2)
        elif r < 0.16:
            fin, cancelled = (
                "voided",
                (created + dt.timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S ") + offset,
            )
        elif r < 0.18:
            fin = "authorized"
        stamp = created.strftime("%Y-%m-%d %H:%M:%S ") + offset
        for j, (prod, q) in enumerate(zip(lines, qtys, strict=True)):
            row = dict.fromkeys(COLUMNS, "")
            row.update(
                {
                    "Name": f"#{1001 + k}",
                    "Created at": stamp,
                    "Lineitem quantity": q,
                    "Lineitem name": prod[1],
                    "Lineitem price": f"{prod[2]:.2f}",
                    "Lineitem sku": prod[0] if prod[0] != "TEA-009" else "",
                    "Lineitem requires shipping": "true",
                    "Lineitem taxable": "true",
                    "Lineitem fulfillment status": "fulfilled" if fin == "paid" else "pending",
                    "Vendor": prod[3],
                    "Lineitem discount": "0.00",
                }
            )
            if j == 0:
                row.update(
                    {
                        "Email": "" if guest else p["email"],
                        "Financial Status": fin,
                        "Currency": "EUR",
                        "Paid at": "" if fin in ("pending", "voided") else stamp,
                        "Fulfillment Status": "fulfilled" if fin == "paid" else "unfulfilled",
                        "Accepts Marketing": rng.choice(["yes", "no"]),
                        "Subtotal": f"{subtotal - discount:.2f}",
                        "Shipping": f"{shipping:.2f}",
                        "Taxes": f"{taxes:.2f}",
                        "Total": f"{total:.2f}",
                        "Discount Code": "WELCOME10" if discount else "",
                        "Discount Amount": f"{discount:.2f}",
                        "Shipping Method": "Standard",
                        "Cancelled at": cancelled,
                        "Payment Method": "Shopify Payments",
                        "Payment Reference": f"c{rng.randint(10**9, 10**10)}.1",
                        "Refunded Amount": f"{refunded:.2f}",
                        "Outstanding Balance": "0.00",
                        "Id": str(5_000_000_000 + k),
                        "Risk Level": "Low",
                        "Source": "pos"
                        if guest
                        else rng.choice(["web", "web", "web", "shopify_draft_order"]),
                        "Tax 1 Name": "MwSt 19%",
                        "Tax 1 Value": f"{taxes:.2f}",
                        "Payment ID": f"r{rng.randint(10**9, 10**10)}",
                        "Payment References": f"r{rng.randint(10**9, 10**10)}",
                    }
                )
                if not guest:
                    city, zip_code, country = p["city"]
                    for side in ("Billing", "Shipping"):
                        row.update(
                            {
                                f"{side} Name": p["name"],
                                f"{side} Street": p["street"],
                                f"{side} Address1": p["street"],
                                f"{side} City": city,
                                f"{side} Zip": zip_code,
                                f"{side} Country": country,
                                f"{side} Phone": p["phone"],
                            }
                        )
                    row["Phone"] = p["phone"]
                    row["Notes"] = f"Please ring {p['name']}" if rng.random() < 0.1 else ""
            rows.append(row)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main(Path(__file__).with_name("orders_export.csv"))
