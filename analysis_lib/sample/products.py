"""The ``products`` table and each SKU's popularity: which SKUs sell, which stop selling (slow
movers) and which sells out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_lib.sample.config import CATEGORIES, CATEGORY_PRICE, SLOW_MOVER_SHARE, START


def products_table(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` SKUs: category, a price around the category's, cost 45-75% of price, brand, and a
    launch date (most before the calendar starts, 15% during it)."""
    cat = rng.integers(0, len(CATEGORIES), n)
    base = np.array(CATEGORY_PRICE)[cat]
    price = np.round(base * rng.lognormal(0, 0.45, n), 2)
    cost = np.round(price * rng.uniform(0.45, 0.75, n), 2)
    launch = START - pd.to_timedelta(rng.integers(0, 720, n), unit="D")
    late = rng.random(n) < 0.15
    launch = launch.where(~late, START + pd.to_timedelta(rng.integers(0, 600, n), unit="D"))
    return pd.DataFrame(
        {
            "sku": [f"SKU{i:05d}" for i in range(n)],
            "category": np.array(CATEGORIES)[cat],
            "price": price,
            "name": [f"{CATEGORIES[c]} item {i}" for i, c in enumerate(cat)],
            "brand": rng.choice(["OurShop", "Acme", "Nova", "Zen"], n, p=[0.4, 0.2, 0.2, 0.2]),
            "cost": cost,
            "launch_date": launch.normalize().date,
        }
    )


def popularity(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Zipf-like demand weights, the slow movers (the least popular ``SLOW_MOVER_SHARE``) and the
    SKU that sells out (the most popular)."""
    w = 1.0 / (rng.permutation(n) + 1.0) ** 0.9
    slow = np.zeros(n, bool)
    order = np.argsort(w)  # least popular first
    slow[order[: int(n * SLOW_MOVER_SHARE)]] = True
    stockout = int(np.argmax(w))
    return w / w.sum(), slow, stockout
