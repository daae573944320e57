"""Converter of the CDNOW data sets (Fader & Hardie) to the canonical ``orders`` table.

One row of the source is one purchase (customer, date, number of CDs, dollar value) and becomes one
order: ``order_id`` = customer id + running number, ``user_id`` = customer id (string),
``order_ts`` = the date at midnight, ``gmv`` = dollar value, ``status`` = ``paid`` (the data holds
no refunds or cancellations), ``items`` = number of CDs. ``CDNOW_sample.txt`` has an extra column
(the sample's own customer number), which is dropped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def read(path: str | Path) -> pd.DataFrame:
    """The raw whitespace-separated file as customer_id, date, number_of_cds, dollar_value."""
    raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, comment=None)
    if raw.iloc[0, 0] == "customer_id":  # CDNOW_master.txt has a header line
        raw = raw.iloc[1:]
    if raw.shape[1] == 5:  # CDNOW_sample.txt: customer id, sample id, date, cds, dollars
        raw = raw.drop(columns=1)
    raw.columns = ["customer_id", "date", "number_of_cds", "dollar_value"]
    return raw.reset_index(drop=True)


def to_orders(path: str | Path) -> pd.DataFrame:
    """The canonical orders table of a CDNOW file (one row = one order)."""
    raw = read(path)
    seq = raw.groupby("customer_id").cumcount() + 1
    return pd.DataFrame(
        {
            "order_id": raw["customer_id"] + "-" + seq.astype(str).str.zfill(3),
            "user_id": raw["customer_id"],
            "order_ts": pd.to_datetime(raw["date"], format="%Y%m%d").astype("datetime64[us]"),
            "gmv": raw["dollar_value"].astype(float),
            "status": "paid",
            "items": raw["number_of_cds"].astype(int),
        }
    )


def build(out_root: str | Path = DATASETS) -> list[Path]:
    """Write ``cdnow_master/orders.parquet`` and ``cdnow_sample/orders.parquet`` from the raw files."""
    out = []
    for name in ("master", "sample"):
        d = Path(out_root) / f"cdnow_{name}"
        d.mkdir(parents=True, exist_ok=True)
        p = d / "orders.parquet"
        to_orders(DATASETS / "cdnow_raw" / f"CDNOW_{name}.txt").to_parquet(p, index=False)
        out.append(p)
    return out


if __name__ == "__main__":
    for p in build():
        print(p)
