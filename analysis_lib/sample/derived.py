"""The tables built from the simulated shop's totals rather than from its users, one function per
table: ``inventory`` (from daily sales), ``marketing_spend`` (from sign-ups per paid channel, plus
each campaign's budget), ``campaigns`` (with the truth of each campaign's incremental GMV),
``targets`` (from monthly GMV), ``search_index`` (a control series) and ``market`` (competitors
around our sales). Each returns its table; :func:`analysis_lib.sample.sample_data.generate` writes
them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis_lib.sample.config import (
    CAMPAIGN_EFFECT,
    CAMPAIGNS,
    CATEGORIES,
    CATEGORY_PRICE,
    CHANNELS,
    END,
    MARKET_GROWTH,
    N_DAYS,
    PAID_CAC,
    START,
    STOCKOUT_FROM,
    YEARLY_AMPLITUDE,
    YEARLY_PEAK_DOY,
)
from analysis_lib.sample.timeline import Calendar, day_index


def inventory_table(sales: np.ndarray, stockout_sku: int, n_sku: int) -> pd.DataFrame:
    """Stock on hand per day and SKU: 60 days of average sales, restocked below 14 days; the
    stock-out SKU is no longer restocked from 20 days before ``STOCKOUT_FROM`` and is at zero
    from it."""
    avg = sales.mean(axis=0) + 0.05
    on_hand = np.ceil(avg * 60).astype(np.int64)
    so_day = day_index(STOCKOUT_FROM)
    rows = np.zeros((N_DAYS, n_sku), np.int64)
    for d in range(N_DAYS):
        on_hand = np.maximum(on_hand - sales[d], 0)
        restock = on_hand < avg * 14
        if d >= so_day - 20:
            restock[stockout_sku] = False
        on_hand = np.where(restock, np.ceil(avg * 60).astype(np.int64), on_hand)
        if d >= so_day:
            on_hand[stockout_sku] = 0
        rows[d] = on_hand
    days = pd.date_range(START, END, freq="D").date
    return pd.DataFrame(
        {
            "date": np.repeat(days, n_sku),
            "sku": np.tile([f"SKU{i:05d}" for i in range(n_sku)], N_DAYS),
            "on_hand": rows.ravel(),
        }
    )


def marketing_spend_table(rng, signups: np.ndarray) -> pd.DataFrame:
    """Daily spend per paid channel: its sign-ups times its planted acquisition cost (with 10%
    noise), and a flat e-mail budget. Campaign budgets are added by :func:`campaigns_table`."""
    days = pd.date_range(START, END, freq="D").date
    rows = []
    chans = list(CHANNELS)
    for ch, cac in PAID_CAC.items():
        j = chans.index(ch)
        spend = np.round(signups[:, j] * cac * rng.lognormal(0, 0.1, N_DAYS), 2)
        clicks = np.round(spend / 0.8).astype(int)
        rows.append(
            pd.DataFrame(
                {
                    "date": days,
                    "channel": ch,
                    "spend": spend,
                    "campaign_id": None,
                    "impressions": clicks * 40,
                    "clicks": clicks,
                }
            )
        )
    email = np.round(np.full(N_DAYS, 50.0), 2)
    rows.append(
        pd.DataFrame(
            {
                "date": days,
                "channel": "email",
                "spend": email,
                "campaign_id": None,
                "impressions": 20000,
                "clicks": 400,
            }
        )
    )
    return pd.concat(rows, ignore_index=True)


def campaigns_table(cal: Calendar, acc: dict) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The ``campaigns`` table (target = campaign GMV times its planted factor, budget 8% of it),
    each campaign's budget as daily ``marketing_spend`` rows spread over the paid channels, and the
    truth of each campaign: its incremental GMV per phase against the no-campaign counterfactual
    (purchases lost in pre-heat and after, extra GMV of campaign traffic, discount cost)."""
    rows, truth = [], {}
    days = pd.date_range(START, END, freq="D")
    spend_rows = []
    for cid, name, pre, b0, b1, end, factor in CAMPAIGNS:
        ph = cal.phase[cid]
        c = acc["camp"][cid]
        camp_gmv = float(acc["gmv_day"][ph["preheat"][0] : ph["return"][1] + 1].sum())
        target = round(camp_gmv * factor, -2)
        budget = round(0.08 * camp_gmv, -2)
        inc = {
            "preheat": -c["preheat_lost_gmv"],
            "burst_and_return": c["burst_extra_gmv"] + c["return_extra_gmv"] - c["discount_loss"],
            "post": -c["post_lost_gmv"],
        }
        truth[cid] = {
            "name": name,
            "campaign_gmv": camp_gmv,
            "target_gmv": target,
            "target_achievement": camp_gmv / target,
            "budget": budget,
            "incremental_gmv": {
                **inc,
                "during_campaign": inc["preheat"] + inc["burst_and_return"],
                "net": inc["preheat"] + inc["burst_and_return"] + inc["post"],
            },
            "post_dip_gmv": c["post_lost_gmv"],
            "extra_gmv_from_campaign_traffic": c["burst_extra_gmv"] + c["return_extra_gmv"],
            "discount_cost": c["discount_loss"],
            "effects": CAMPAIGN_EFFECT,
        }
        rows.append(
            {
                "campaign_id": cid,
                "name": name,
                "start_date": pd.Timestamp(pre).date(),
                "end_date": pd.Timestamp(end).date(),
                "preheat_start": pd.Timestamp(pre).date(),
                "burst_start": pd.Timestamp(b0).date(),
                "burst_end": pd.Timestamp(b1).date(),
                "budget": budget,
                "target_gmv": target,
            }
        )
        lo, hi = ph["preheat"][0], ph["return"][1]
        per_day = budget / (hi - lo + 1) / len(PAID_CAC)
        for d in range(lo, hi + 1):
            for ch in PAID_CAC:
                spend_rows.append(
                    {
                        "date": days[d].date(),
                        "channel": ch,
                        "spend": round(per_day, 2),
                        "campaign_id": cid,
                        "impressions": int(per_day * 50),
                        "clicks": int(per_day),
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(spend_rows), truth


def search_index_table(rng, cal: Calendar) -> pd.DataFrame:
    """A daily control series untouched by our campaigns: category search interest that follows
    the same traffic calendar (growth, weekly and yearly seasonality) with its own noise, as a
    search-trends index would. Used as a CausalImpact control."""
    days = pd.date_range(START, END, freq="D").date
    idx = 100 * cal.day_weight / cal.day_weight[:28].mean() * rng.lognormal(0, 0.04, N_DAYS)
    return pd.DataFrame({"date": days, "search_index": np.round(idx, 3)})


def targets_table(gmv_day: np.ndarray) -> pd.DataFrame:
    """Monthly GMV targets for the last year: its actual GMV plus 5%, rounded to hundreds."""
    days = pd.date_range(START, END, freq="D")
    s = pd.Series(gmv_day, index=days)
    monthly = s.groupby(days.to_period("M")).sum()
    rows = []
    for per, val in monthly.items():
        if per.year < END.year:
            continue
        rows.append(
            {
                "period": str(per),
                "metric": "gmv",
                "target_value": round(val * 1.05, -2),
                "dimension": None,
                "dimension_value": None,
                "owner": "ops",
            }
        )
    return pd.DataFrame(rows)


def market_table(rng, gmv_cat_month: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """Competitors' sales follow a planted market: each category grows at its own yearly rate with
    the traffic seasonality, sized so that our share in 2024 is a planted share; our own sales are
    the shop's GMV by category. Returns the table and its truth."""
    brands = ["OurShop", "BrandA", "BrandB", "BrandC", "BrandD", "BrandE", "BrandF", "BrandG"]
    our_share = rng.uniform(0.08, 0.2, len(CATEGORIES))
    comp_w = rng.dirichlet(np.full(len(brands) - 1, 1.5), len(CATEGORIES))
    rows = []
    months = pd.period_range(START, END, freq="M")
    season = 1 + YEARLY_AMPLITUDE * np.cos(
        2 * np.pi * (months.start_time.dayofyear.values - YEARLY_PEAK_DOY) / 365.25
    )
    for ci, cat in enumerate(CATEGORIES):
        base = (
            gmv_cat_month[:12, ci].sum() / our_share[ci] / season[:12].sum()
        )  # 2024 market, one month
        for mi, per in enumerate(months):
            ours = gmv_cat_month[mi, ci]
            total = (
                base * (1 + MARKET_GROWTH[ci]) ** (mi / 12) * season[mi] * rng.lognormal(0, 0.03)
            )
            others = max(total - ours, 0.0)
            rows.append(
                {
                    "period": str(per),
                    "brand": brands[0],
                    "category": cat,
                    "sales": round(ours, 2),
                    "units": int(ours / CATEGORY_PRICE[ci]),
                    "is_self": True,
                }
            )
            for bi, b in enumerate(brands[1:]):
                val = others * comp_w[ci, bi] * rng.lognormal(0, 0.05)
                rows.append(
                    {
                        "period": str(per),
                        "brand": b,
                        "category": cat,
                        "sales": round(val, 2),
                        "units": int(val / (CATEGORY_PRICE[ci] * (0.7 + 0.1 * bi))),
                        "is_self": False,
                    }
                )
    return pd.DataFrame(rows), {
        "our_brand": brands[0],
        "planted_category_share_2024": dict(
            zip(CATEGORIES, our_share.round(4).tolist(), strict=True)
        ),
        "planted_competitor_market_growth": dict(zip(CATEGORIES, MARKET_GROWTH, strict=True)),
        "note": "market size = our sales + competitors; competitors follow the planted growth",
    }
