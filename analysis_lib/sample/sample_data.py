"""Sample data: the canonical tables of a fictional shop, with effects planted on purpose.

``generate(out, scale, seed)`` writes every table of the canonical model as Parquet and a
``truth.json`` that states each planted figure, so tests can check that an analysis finds what was
planted. Deterministic for a seed. Users are simulated in chunks (``<table>/part-NNNNN.parquet``)
so scale ``l`` (about 10^8 events) never holds more than one chunk in memory.

Planted effects (all stated in truth.json):
- growth, weekly and yearly seasonality of traffic;
- personas with different visit rates, purchase propensity, basket size and refunds;
- a leaky funnel step: checkout -> purchase on ``mobile_web`` halves from ``leak.start``;
- one experiment with a known lift on checkout -> purchase, and its exact expected user conversion
  per arm (computed from the per-session probabilities, not estimated);
- campaigns with pre-heat dip, burst (extra traffic and a discount), return phase and a
  post-campaign dip; the exact incremental GMV of each phase against a no-campaign counterfactual;
- slow-moving SKUs (no demand in the last months) and a stock-out of a popular SKU;
- acquisition cost per paid channel; a market table with our planted share;
- anomalies in the daily KPIs (:mod:`.anomalies`: a payment outage, a channel that drops, a refund
  spike, a missing day), from a random stream of their own, so every other row stays as it was;
- a daily ``search_index`` table (not part of the canonical model): a control series that follows
  the traffic calendar but not our campaigns, for counterfactual models.

The generator's modules: :mod:`.config` (every planted number), :mod:`.timeline` (traffic per day,
campaign phases), :mod:`.products`, :mod:`.shoppers` (users simulated per chunk and the tables
written from them), :mod:`.derived` (the tables built from the totals), :mod:`.writer`. One function
per table; this module runs them in the order that keeps a seed's files byte for byte the same, and
writes truth.json.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from analysis_lib.sample import anomalies
from analysis_lib.sample.config import (
    CAMPAIGNS,
    CATEGORIES,
    CHANNELS,
    END,
    EXPERIMENT,
    GROWTH_PER_YEAR,
    LEAK,
    N_DAYS,
    P_CART,
    P_CHECKOUT,
    P_PRODUCT_VIEW,
    P_PURCHASE,
    PAID_CAC,
    PERSONAS,
    SCALES,
    SLOW_FROM,
    START,
    STOCKOUT_FROM,
    WEEKEND_MULT,
    YEARLY_AMPLITUDE,
    YEARLY_PEAK_DOY,
)
from analysis_lib.sample.derived import (
    campaigns_table,
    inventory_table,
    market_table,
    marketing_spend_table,
    search_index_table,
    targets_table,
)
from analysis_lib.sample.products import popularity, products_table
from analysis_lib.sample.shoppers import simulate_chunk
from analysis_lib.sample.timeline import calendar

__all__ = ["GENERATOR_VERSION", "SCALES", "generate"]

# bumped whenever the generator writes different data for a seed: the tests regenerate a
# data/sample whose truth.json states another version (tests/conftest.py)
GENERATOR_VERSION = 2


def _totals(n_sku: int) -> dict:
    """The running totals the chunks add to (see :mod:`.shoppers`)."""
    return {
        "sales": np.zeros((N_DAYS, n_sku), np.int64),
        "signups": np.zeros((N_DAYS, len(CHANNELS)), np.int64),
        "gmv_cat_month": np.zeros((24, len(CATEGORIES))),
        "gmv_day": np.zeros(N_DAYS),
        "exp": {"users": [0, 0], "p_conv": [0.0, 0.0], "p_conv_ctrl_cf": 0.0, "buyers": [0, 0]},
        "camp": {
            c[0]: {
                "burst_extra_gmv": 0.0,
                "return_extra_gmv": 0.0,
                "discount_loss": 0.0,
                "preheat_lost_gmv": 0.0,
                "post_lost_gmv": 0.0,
            }
            for c in CAMPAIGNS
        },
        "leak": {"before": [0, 0], "after": [0, 0]},
        "n_events": 0,
        "n_orders": 0,
    }


def generate(out: str | Path, scale: str = "s", seed: int = 0) -> dict:
    """Write the canonical tables for the fictional shop to ``out`` and return the truth dict.

    The shop-wide generator draws the products, then each chunk of users draws from its own
    child seed (so a chunk's draws do not depend on the chunks before it), then the shop-wide
    generator draws the derived tables: spend, the search index and the market, in that order."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    cfg = SCALES[scale]
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    ss = np.random.SeedSequence(seed)
    g_rng = np.random.default_rng(ss.spawn(1)[0])
    cal = calendar()
    products = products_table(g_rng, cfg["skus"])
    pop, slow, stockout_sku = popularity(g_rng, cfg["skus"])
    writer = anomalies.PlantingWriter(out, seed)
    acc = _totals(cfg["skus"])
    n_users = cfg["users"]
    chunk = cfg["chunk"]
    child_seeds = ss.spawn(1 + (n_users + chunk - 1) // chunk)[1:]
    for ci, lo in enumerate(range(0, n_users, chunk)):
        hi = min(n_users, lo + chunk)
        rng = np.random.default_rng(child_seeds[ci])
        simulate_chunk(rng, lo, hi, cal, products, pop, slow, stockout_sku, writer, acc)

    writer.write("products", products, chunked=False)
    writer.write(
        "inventory", inventory_table(acc["sales"], stockout_sku, cfg["skus"]), chunked=False
    )
    spend = marketing_spend_table(g_rng, acc["signups"])
    campaigns, campaign_spend, camp_truth = campaigns_table(cal, acc)
    writer.write("campaigns", campaigns, chunked=False)
    writer.write(
        "marketing_spend", pd.concat([spend, campaign_spend], ignore_index=True), chunked=False
    )
    writer.write("targets", targets_table(acc["gmv_day"]), chunked=False)
    writer.write("search_index", search_index_table(g_rng, cal), chunked=False)
    market, market_truth = market_table(g_rng, acc["gmv_cat_month"])
    writer.write("market", market, chunked=False)

    acc["n_orders"] -= writer.dropped["orders"]
    acc["n_events"] -= writer.dropped["events"]
    truth = _truth(scale, seed, acc, products, slow, stockout_sku, camp_truth, market_truth)
    (out / "truth.json").write_text(json.dumps(truth, indent=2, default=float))
    return truth


def _truth(scale, seed, acc, products, slow, stockout_sku, camp_truth, market_truth) -> dict:
    """Every planted figure, as truth.json states it."""
    e = acc["exp"]
    truth = {
        "generator_version": GENERATOR_VERSION,
        "scale": scale,
        "seed": seed,
        "period": {"start": str(START.date()), "end": str(END.date())},
        "users": SCALES[scale]["users"],
        "events": acc["n_events"],
        "orders": acc["n_orders"],
        "seasonality": {
            "traffic_growth_per_year": GROWTH_PER_YEAR,
            "weekend_multiplier": WEEKEND_MULT,
            "yearly_amplitude": YEARLY_AMPLITUDE,
            "yearly_peak_day_of_year": YEARLY_PEAK_DOY,
        },
        "personas": {
            k: {
                "share": v[0],
                "sessions": v[1],
                "purchase_mult": v[2],
                "basket_mult": v[3],
                "refund_prob": v[4],
            }
            for k, v in PERSONAS.items()
        },
        "funnel": {
            "steps": ["page_view", "product_view", "add_to_cart", "checkout", "purchase"],
            "session_step_probs": {
                "page_view->product_view": P_PRODUCT_VIEW,
                "product_view->add_to_cart": P_CART,
                "add_to_cart->checkout": P_CHECKOUT,
                "checkout->purchase": P_PURCHASE,
            },
            "leak": {
                **LEAK,
                "session_rate_before": _rate(acc["leak"]["before"]),
                "session_rate_after": _rate(acc["leak"]["after"]),
            },
        },
        "experiment": {
            **EXPERIMENT,
            "users": e["users"],
            "expected_conversion": {
                "control": e["p_conv"][0] / max(e["users"][0], 1),
                "treatment": e["p_conv"][1] / max(e["users"][1], 1),
            },
            "expected_relative_lift": (e["p_conv"][1] / max(e["users"][1], 1))
            / (e["p_conv_ctrl_cf"] / max(e["users"][1], 1))
            - 1,
            "observed_buyers": e["buyers"],
            "metric": "user converts (any purchase event) between start and end, exposed users",
        },
        "campaigns": camp_truth,
        "products": {
            "slow_movers": products["sku"][slow].tolist(),
            "slow_from": SLOW_FROM,
            "stockout_sku": products["sku"].iloc[stockout_sku],
            "stockout_from": STOCKOUT_FROM,
        },
        "acquisition_cac": PAID_CAC,
        "market": market_truth,
        "anomalies": anomalies.truth(),
    }
    return truth


def _rate(pair) -> float:
    return pair[1] / pair[0] if pair[0] else float("nan")
