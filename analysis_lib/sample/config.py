"""The sample shop's planted parameters: its calendar, scales, personas, channels, funnel
probabilities and every effect planted on purpose (the leak, the experiment, the campaigns, slow
movers, the stock-out, the market's growth). Changing one changes what truth.json states and what the
tests expect the analyses to find."""

from __future__ import annotations

import pandas as pd

START = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2025-12-31")
N_DAYS = (END - START).days + 1

SCALES = {
    "s": {"users": 10_000, "skus": 200, "chunk": 10_000},
    "m": {"users": 1_000_000, "skus": 2_000, "chunk": 200_000},
    "l": {"users": 5_000_000, "skus": 5_000, "chunk": 200_000},
}

PERSONAS = {
    # name: share, sessions over two years, purchase multiplier, basket multiplier, refund prob
    "loyal": (0.15, 24.0, 1.5, 1.3, 0.04),
    "bargain_hunter": (0.30, 12.0, 1.0, 0.8, 0.09),
    "casual": (0.40, 6.0, 0.8, 1.0, 0.05),
    "window_shopper": (0.15, 4.0, 0.3, 1.0, 0.05),
}
CHANNELS = {"organic": 0.35, "search": 0.25, "social": 0.20, "ads": 0.12, "email": 0.08}
PAID_CAC = {"search": 30.0, "social": 22.0, "ads": 45.0}
DEVICES = {"app": 0.40, "mobile_web": 0.35, "desktop": 0.25}
REGIONS = ["East", "South", "North", "West", "Central"]
CATEGORIES = ["Apparel", "Beauty", "Electronics", "Home", "Food", "Sports", "Toys", "Books"]
CATEGORY_PRICE = [45, 60, 220, 80, 25, 70, 40, 30]

GROWTH_PER_YEAR = 0.30
WEEKEND_MULT = 1.20
YEARLY_AMPLITUDE = 0.20
YEARLY_PEAK_DOY = 350

# base step probabilities per session
P_PRODUCT_VIEW = 0.55
P_CART = 0.40
P_CHECKOUT = 0.65
P_PURCHASE = 0.65

LEAK = {"step": "checkout->purchase", "device": "mobile_web", "start": "2025-12-01", "mult": 0.5}
EXPERIMENT = {
    "experiment_id": "EXP_CHECKOUT_2025Q3",
    "start": "2025-09-01",
    "end": "2025-09-28",
    "variants": ["control", "treatment"],
    "planned_split": [0.5, 0.5],
    "step": "checkout->purchase",
    "purchase_prob_mult": 1.25,
}
CAMPAIGNS = [
    # id, name, preheat_start, burst_start, burst_end, end_date, target factor
    (
        "C2024_618",
        "618 Mid-year Sale 2024",
        "2024-06-01",
        "2024-06-17",
        "2024-06-18",
        "2024-06-20",
        0.9,
    ),
    ("C2024_1111", "Double 11 2024", "2024-10-24", "2024-11-10", "2024-11-11", "2024-11-13", 1.0),
    (
        "C2025_618",
        "618 Mid-year Sale 2025",
        "2025-06-01",
        "2025-06-17",
        "2025-06-18",
        "2025-06-20",
        0.95,
    ),
    ("C2025_1111", "Double 11 2025", "2025-10-24", "2025-11-10", "2025-11-11", "2025-11-13", 1.1),
]
CAMPAIGN_EFFECT = {
    "preheat_purchase_drop": 0.10,  # share of purchases postponed (lost) in pre-heat
    "burst_extra_sessions": 4.0,  # extra sessions per regular session on burst days
    "return_extra_sessions": 1.0,  # ... in the return phase
    "extra_purchase_mult": 1.3,
    "discount": 0.20,  # price cut on burst and return days
    "post_window_days": 14,
    "post_purchase_drop": 0.20,
}
SLOW_MOVER_SHARE = 0.10
SLOW_FROM = "2025-09-01"
STOCKOUT_FROM = "2025-12-10"

MARKET_GROWTH = [
    0.05,
    0.08,
    0.25,
    0.02,
    0.12,
    0.20,
    -0.03,
    0.00,
]  # planted yearly growth per category
