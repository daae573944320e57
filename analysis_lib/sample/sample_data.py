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
- a daily ``search_index`` table (not part of the canonical model): a control series that follows
  the traffic calendar but not our campaigns, for counterfactual models.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

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


@dataclass
class _Calendar:
    day_weight: np.ndarray  # relative traffic per day
    cdf: np.ndarray
    phase: dict  # campaign_id -> dict of day-index ranges


def _calendar() -> _Calendar:
    days = pd.date_range(START, END, freq="D")
    t_years = np.arange(N_DAYS) / 365.25
    trend = 1 + GROWTH_PER_YEAR * t_years
    weekly = np.where(days.dayofweek >= 5, WEEKEND_MULT, 1.0)
    yearly = 1 + YEARLY_AMPLITUDE * np.cos(
        2 * np.pi * (days.dayofyear.values - YEARLY_PEAK_DOY) / 365.25
    )
    w = trend * weekly * yearly
    cdf = np.cumsum(w) / w.sum()
    phase = {}
    for cid, _, pre, b0, b1, end, _ in CAMPAIGNS:
        idx = {
            k: (pd.Timestamp(v) - START).days
            for k, v in dict(pre=pre, b0=b0, b1=b1, end=end).items()
        }
        phase[cid] = {
            "preheat": (idx["pre"], idx["b0"] - 1),
            "burst": (idx["b0"], idx["b1"]),
            "return": (idx["b1"] + 1, idx["end"]),
            "post": (idx["end"] + 1, idx["end"] + CAMPAIGN_EFFECT["post_window_days"]),
        }
    return _Calendar(w, cdf, phase)


def _day_in(days: np.ndarray, rng: tuple[int, int]) -> np.ndarray:
    return (days >= rng[0]) & (days <= rng[1])


def _products(rng: np.random.Generator, n: int) -> pd.DataFrame:
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


def _popularity(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    w = 1.0 / (rng.permutation(n) + 1.0) ** 0.9
    slow = np.zeros(n, bool)
    order = np.argsort(w)  # least popular first
    slow[order[: int(n * SLOW_MOVER_SHARE)]] = True
    stockout = int(np.argmax(w))
    return w / w.sum(), slow, stockout


def _choice_weighted(rng, weights: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(weights) - 1)


class _Writer:
    """Writes tables as folders of Parquet parts (one part per chunk)."""

    def __init__(self, out: Path):
        self.out = out
        self.parts: dict[str, int] = {}

    def write(self, name: str, table: pa.Table | pd.DataFrame, chunked: bool) -> None:
        if isinstance(table, pd.DataFrame):
            table = pa.Table.from_pandas(table, preserve_index=False)
        if not chunked:
            pq.write_table(table, self.out / f"{name}.parquet")
            return
        d = self.out / name
        d.mkdir(exist_ok=True)
        i = self.parts.get(name, 0)
        pq.write_table(table, d / f"part-{i:05d}.parquet")
        self.parts[name] = i + 1


def generate(out: str | Path, scale: str = "s", seed: int = 0) -> dict:
    """Write the canonical tables for the fictional shop to ``out`` and return the truth dict."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    cfg = SCALES[scale]
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    ss = np.random.SeedSequence(seed)
    g_rng = np.random.default_rng(ss.spawn(1)[0])
    cal = _calendar()
    products = _products(g_rng, cfg["skus"])
    pop, slow, stockout_sku = _popularity(g_rng, cfg["skus"])
    price = products["price"].to_numpy()
    writer = _Writer(out)

    acc = {
        "sales": np.zeros((N_DAYS, cfg["skus"]), np.int64),
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
    n_users = cfg["users"]
    chunk = cfg["chunk"]
    child_seeds = ss.spawn(1 + (n_users + chunk - 1) // chunk)[1:]
    for ci, lo in enumerate(range(0, n_users, chunk)):
        hi = min(n_users, lo + chunk)
        rng = np.random.default_rng(child_seeds[ci])
        _chunk(rng, lo, hi, cal, products, pop, slow, stockout_sku, price, writer, acc)

    writer.write("products", products, chunked=False)
    _write_inventory(g_rng, writer, acc["sales"], stockout_sku, cfg["skus"])
    _write_spend(g_rng, writer, acc["signups"])
    camp_truth = _write_campaigns(writer, cal, acc)
    _write_targets(writer, acc["gmv_day"])
    _write_search_index(g_rng, writer, cal)
    market_truth = _write_market(g_rng, writer, acc["gmv_cat_month"])

    e = acc["exp"]
    truth = {
        "scale": scale,
        "seed": seed,
        "period": {"start": str(START.date()), "end": str(END.date())},
        "users": n_users,
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
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2, default=float))
    return truth


def _rate(pair) -> float:
    return pair[1] / pair[0] if pair[0] else float("nan")


def _chunk(rng, lo, hi, cal, products, pop, slow, stockout_sku, price, writer, acc) -> None:
    n = hi - lo
    persona_names = list(PERSONAS)
    shares = np.array([PERSONAS[p][0] for p in persona_names])
    persona = rng.choice(len(persona_names), n, p=shares)
    p_sess = np.array([PERSONAS[p][1] for p in persona_names])[persona]
    p_buy = np.array([PERSONAS[p][2] for p in persona_names])[persona]
    p_basket = np.array([PERSONAS[p][3] for p in persona_names])[persona]
    p_refund = np.array([PERSONAS[p][4] for p in persona_names])[persona]
    channel = rng.choice(len(CHANNELS), n, p=list(CHANNELS.values()))
    device_pref = rng.choice(len(DEVICES), n, p=list(DEVICES.values()))

    # signup day: growing with the same calendar as traffic, early users carry over from before
    signup_day = np.searchsorted(cal.cdf, rng.random(n) ** 1.15)
    signup_day = np.minimum(signup_day, N_DAYS - 1)
    signup_sec = rng.integers(0, 86400, n)
    uid = np.array([f"u{i:08d}" for i in range(lo, hi)], dtype=object)
    users = pd.DataFrame(
        {
            "user_id": uid,
            "signup_ts": START
            + pd.to_timedelta(signup_day, unit="D")
            + pd.to_timedelta(signup_sec, unit="s"),
            "channel": np.array(list(CHANNELS))[channel],
            "age": np.clip(rng.normal(np.where(persona == 0, 36, 30), 9), 16, 75).astype(int),
            "gender": rng.choice(["F", "M"], n, p=[0.58, 0.42]),
            "region": rng.choice(REGIONS, n),
            "city_tier": rng.choice([1, 2, 3, 4], n, p=[0.2, 0.35, 0.3, 0.15]),
            "persona": np.array(persona_names)[persona],
        }
    )
    writer.write("users", users, chunked=True)
    np.add.at(acc["signups"], (signup_day, channel), 1)

    # regular sessions: first at signup, the rest spread over the calendar after signup
    active = 1 - cal.cdf[signup_day] + cal.day_weight[signup_day] / cal.day_weight.sum()
    extra = rng.poisson(np.maximum(p_sess * active - 1, 0))
    s_user = np.concatenate([np.arange(n), np.repeat(np.arange(n), extra)])
    base_cdf = cal.cdf[signup_day[s_user[n:]]]
    later = np.searchsorted(cal.cdf, base_cdf + rng.random(len(base_cdf)) * (1 - base_cdf))
    s_day = np.concatenate([signup_day, np.minimum(later, N_DAYS - 1)])
    s_kind = np.zeros(len(s_user), np.int8)  # 0 regular, 1 burst extra, 2 return extra
    s_camp = np.full(len(s_user), -1, np.int16)

    # campaign extra sessions
    extra_users, extra_days, extra_kind, extra_camp = [], [], [], []
    for k, (cid, *_rest) in enumerate(CAMPAIGNS):
        ph = cal.phase[cid]
        for kind, key, mult in (
            (1, "burst", "burst_extra_sessions"),
            (2, "return", "return_extra_sessions"),
        ):
            in_phase = _day_in(s_day, ph[key])
            m = rng.poisson(CAMPAIGN_EFFECT[mult] * in_phase.sum())
            if m == 0:
                continue
            src = rng.integers(0, in_phase.size, m * 3)
            cand = s_user[src]
            cand = cand[signup_day[cand] < ph[key][0]][:m]
            extra_users.append(cand)
            extra_days.append(rng.integers(ph[key][0], ph[key][1] + 1, cand.size))
            extra_kind.append(np.full(cand.size, kind, np.int8))
            extra_camp.append(np.full(cand.size, k, np.int16))
    if extra_users:
        s_user = np.concatenate([s_user, *extra_users])
        s_day = np.concatenate([s_day, *extra_days])
        s_kind = np.concatenate([s_kind, *extra_kind])
        s_camp = np.concatenate([s_camp, *extra_camp])
    order = np.lexsort((s_day, s_user))
    s_user, s_day, s_kind, s_camp = s_user[order], s_day[order], s_kind[order], s_camp[order]
    ns = len(s_user)
    s_sec = np.where(
        s_day == signup_day[s_user], signup_sec[s_user], rng.choice(86400, ns, p=_hour_profile())
    )
    s_sec = np.minimum(s_sec, 86400 - 900)
    s_device = np.where(
        rng.random(ns) < 0.8, device_pref[s_user], rng.integers(0, len(DEVICES), ns)
    )

    # funnel
    date_leak = (pd.Timestamp(LEAK["start"]) - START).days
    is_mw = s_device == list(DEVICES).index(LEAK["device"])
    p_purchase = np.full(ns, P_PURCHASE) * p_buy[s_user]
    p_purchase = np.where(is_mw & (s_day >= date_leak), p_purchase * LEAK["mult"], p_purchase)
    p_purchase = np.where(
        s_kind > 0, p_purchase * CAMPAIGN_EFFECT["extra_purchase_mult"], p_purchase
    )
    # experiment
    e0 = (pd.Timestamp(EXPERIMENT["start"]) - START).days
    e1 = (pd.Timestamp(EXPERIMENT["end"]) - START).days
    in_exp = _day_in(s_day, (e0, e1)) & (s_kind == 0)
    exp_users = np.unique(s_user[in_exp])
    arm = np.full(n, -1)
    arm[exp_users] = (rng.random(exp_users.size) < EXPERIMENT["planned_split"][1]).astype(int)
    treated = in_exp & (arm[s_user] == 1)
    p_purchase_ctrl = np.minimum(p_purchase, 0.98)
    p_purchase = np.where(treated, p_purchase * EXPERIMENT["purchase_prob_mult"], p_purchase)
    p_purchase = np.minimum(p_purchase, 0.98)

    u = rng.random((ns, 4))
    viewed = u[:, 0] < P_PRODUCT_VIEW
    carted = viewed & (u[:, 1] < np.minimum(P_CART * np.where(s_kind > 0, 1.4, 1.0), 0.95))
    checked = carted & (u[:, 2] < P_CHECKOUT)
    bought = checked & (u[:, 3] < p_purchase)

    leak_sess = is_mw & checked & (s_kind == 0)
    for key, sel in (("before", s_day < date_leak), ("after", s_day >= date_leak)):
        acc["leak"][key][0] += int((leak_sess & sel).sum())
        acc["leak"][key][1] += int((leak_sess & sel & bought).sum())

    # expected conversion of exposed users (exact, from per-session probabilities)
    p_full = P_PRODUCT_VIEW * P_CART * P_CHECKOUT
    q_act = np.ones(n)
    q_cf = np.ones(n)
    np.multiply.at(q_act, s_user[in_exp], 1 - p_full * p_purchase[in_exp])
    np.multiply.at(q_cf, s_user[in_exp], 1 - p_full * p_purchase_ctrl[in_exp])
    bought_exp = np.zeros(n, bool)
    bought_exp[s_user[in_exp & bought]] = True
    for a in (0, 1):
        sel = exp_users[arm[exp_users] == a]
        acc["exp"]["users"][a] += int(sel.size)
        acc["exp"]["p_conv"][a] += float((1 - q_act[sel]).sum())
        acc["exp"]["buyers"][a] += int(bought_exp[sel].sum())
        if a == 1:
            acc["exp"]["p_conv_ctrl_cf"] += float((1 - q_cf[sel]).sum())
    first_exp_sess = {}
    if exp_users.size:
        idx = np.flatnonzero(in_exp)
        _, first = np.unique(s_user[idx], return_index=True)
        first_exp_sess = idx[first]
        assignments = pd.DataFrame(
            {
                "experiment_id": EXPERIMENT["experiment_id"],
                "unit_id": uid[s_user[first_exp_sess]],
                "variant": np.array(EXPERIMENT["variants"])[arm[s_user[first_exp_sess]]],
                "assigned_ts": START
                + pd.to_timedelta(s_day[first_exp_sess], unit="D")
                + pd.to_timedelta(s_sec[first_exp_sess], unit="s"),
            }
        )
        writer.write("assignments", assignments, chunked=True)

    # orders for bought sessions
    b_idx = np.flatnonzero(bought)
    nb = b_idx.size
    b_user = s_user[b_idx]
    b_day = s_day[b_idx]
    n_items = 1 + rng.poisson(0.6 * p_basket[b_user])
    it_order = np.repeat(np.arange(nb), n_items)
    it_day = b_day[it_order]
    w_recent = np.where(slow, 0.0, pop)
    sku_a = _choice_weighted(rng, pop, it_order.size)
    sku_b = _choice_weighted(rng, w_recent, it_order.size)
    it_sku = np.where(it_day >= (pd.Timestamp(SLOW_FROM) - START).days, sku_b, sku_a)
    so_day = (pd.Timestamp(STOCKOUT_FROM) - START).days
    out_of_stock = (it_sku == stockout_sku) & (it_day >= so_day)
    it_sku = np.where(out_of_stock, _choice_weighted(rng, w_recent, it_order.size), it_sku)
    it_sku = np.where(
        (it_sku == stockout_sku) & (it_day >= so_day), (stockout_sku + 1) % len(pop), it_sku
    )
    it_qty = 1 + rng.poisson(0.2, it_order.size)
    disc_day = np.zeros(N_DAYS, bool)
    for cid, *_r in CAMPAIGNS:
        ph = cal.phase[cid]
        disc_day[ph["burst"][0] : ph["return"][1] + 1] = True
    it_full = price[it_sku]
    it_price = np.round(
        np.where(disc_day[it_day], it_full * (1 - CAMPAIGN_EFFECT["discount"]), it_full), 2
    )
    gmv = np.bincount(it_order, it_qty * it_price, minlength=nb)
    full_gmv = np.bincount(it_order, it_qty * it_full, minlength=nb)
    u_status = rng.random(nb)
    status = np.where(
        u_status < 0.04,
        "cancelled",
        np.where(u_status < 0.04 + p_refund[b_user], "refunded", "paid"),
    )
    valid = status != "cancelled"

    # campaign dips: drop purchases in pre-heat and post windows (those buyers waited or were pulled forward)
    keep = np.ones(nb, bool)
    for cid, *_r in CAMPAIGNS:
        ph = cal.phase[cid]
        c = acc["camp"][cid]
        for key, drop in (("preheat", "preheat_purchase_drop"), ("post", "post_purchase_drop")):
            sel = (
                _day_in(b_day, ph[key])
                & (s_kind[b_idx] == 0)
                & (rng.random(nb) < CAMPAIGN_EFFECT[drop])
            )
            keep &= ~sel
            c[f"{key}_lost_gmv"] += float(gmv[sel & valid].sum())
        k = [x[0] for x in CAMPAIGNS].index(cid)
        c["burst_extra_gmv"] += float(
            gmv[(s_kind[b_idx] == 1) & (s_camp[b_idx] == k) & valid].sum()
        )
        c["return_extra_gmv"] += float(
            gmv[(s_kind[b_idx] == 2) & (s_camp[b_idx] == k) & valid].sum()
        )
        reg = (s_kind[b_idx] == 0) & valid
        for key in ("burst", "return"):
            sel = reg & _day_in(b_day, ph[key])
            c["discount_loss"] += float((full_gmv[sel] - gmv[sel]).sum())
    bought[b_idx[~keep]] = False

    # events
    n_pv = rng.geometric(0.45, ns)
    n_ev = n_pv + viewed + carted + checked + bought
    e_sess = np.repeat(np.arange(ns), n_ev)
    pos = np.arange(e_sess.size) - np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
    npv = n_pv[e_sess]
    step = np.where(
        pos < npv, 0, pos - npv + 1
    )  # 0 page_view, 1 product_view, 2 cart, 3 checkout, 4 purchase
    names = np.array(
        ["page_view", "product_view", "add_to_cart", "checkout", "purchase"], dtype=object
    )
    gap = np.where(pos == 0, 0.0, rng.exponential(40, e_sess.size) + 1.0)
    cum = np.cumsum(gap)
    offs = cum - np.repeat(
        cum[np.cumsum(n_ev) - n_ev], n_ev
    )  # seconds since session start, increasing
    ts = (START + pd.to_timedelta(s_day[e_sess], unit="D")) + pd.to_timedelta(
        s_sec[e_sess] + offs, unit="s"
    )
    view_sku = _choice_weighted(rng, pop, ns)
    e_sku = np.where((step >= 1) & (step <= 2), view_sku[e_sess], -1)
    sku_names = products["sku"].to_numpy(dtype=object)
    sess_ids = pa.array(
        np.char.add("s", np.char.mod("%010d", np.arange(ns) + lo * 100)).astype(object)
    )
    dev_names = np.array(list(DEVICES), dtype=object)
    events = pa.table(
        {
            "event_ts": pa.array(ts.values.astype("datetime64[us]")),
            "user_id": pa.array(uid, pa.string()).take(pa.array(s_user[e_sess])),
            "event": pa.array(names, pa.string()).take(pa.array(step)),
            "session_id": sess_ids.cast(pa.string()).take(pa.array(e_sess)),
            "channel": pa.array(np.array(list(CHANNELS), dtype=object), pa.string()).take(
                pa.array(channel[s_user[e_sess]])
            ),
            "device": pa.array(dev_names, pa.string()).take(pa.array(s_device[e_sess])),
            "sku": pa.array(sku_names, pa.string())
            .take(
                pa.array(np.where(e_sku < 0, 0, e_sku)),
            )
            .to_pandas()
            .where(e_sku >= 0, None),
        }
    )
    # event logs arrive in time order: sorted parts let engines skip row groups outside a period
    writer.write("events", events.sort_by("event_ts"), chunked=True)
    acc["n_events"] += events.num_rows

    # orders and items (kept purchases only)
    kb = np.flatnonzero(keep)
    o_ids = np.char.add("o", np.char.mod("%011d", kb + lo * 1000)).astype(object)
    b_sess = b_idx[kb]
    o_ts = (
        START
        + pd.to_timedelta(s_day[b_sess], unit="D")
        + pd.to_timedelta(s_sec[b_sess] + 880, unit="s")
    )
    o_user = s_user[b_sess]
    camp_of_day = np.full(N_DAYS, None, dtype=object)
    for cid, *_r in CAMPAIGNS:
        ph = cal.phase[cid]
        camp_of_day[ph["preheat"][0] : ph["return"][1] + 1] = cid
    orders = pd.DataFrame(
        {
            "order_id": o_ids,
            "user_id": uid[o_user],
            "order_ts": o_ts,
            "gmv": np.round(gmv[kb], 2),
            "status": status[kb],
            "channel": np.array(list(CHANNELS))[channel[o_user]],
            "device": np.array(list(DEVICES))[s_device[b_sess]],
            "discount": np.round(full_gmv[kb] - gmv[kb], 2),
            "shipping_fee": np.where(gmv[kb] >= 99, 0.0, 8.0),
            "campaign_id": camp_of_day[s_day[b_sess]],
            "region": users["region"].to_numpy()[o_user],
        }
    )
    writer.write("orders", orders, chunked=True)
    acc["n_orders"] += len(orders)
    it_keep = keep[it_order]
    remap = np.cumsum(keep) - 1
    items = pd.DataFrame(
        {
            "order_id": o_ids[remap[it_order[it_keep]]],
            "sku": sku_names[it_sku[it_keep]],
            "quantity": it_qty[it_keep],
            "unit_price": it_price[it_keep],
            "unit_cost": products["cost"].to_numpy()[it_sku[it_keep]],
        }
    )
    writer.write("order_items", items, chunked=True)

    v_items = it_keep & valid[it_order]
    np.add.at(acc["sales"], (it_day[v_items], it_sku[v_items]), it_qty[v_items])
    cat_idx = pd.Categorical(products["category"], categories=CATEGORIES).codes
    month = START + pd.to_timedelta(it_day[v_items], unit="D")
    m_idx = (month.year - START.year) * 12 + month.month - 1
    np.add.at(acc["gmv_cat_month"], (m_idx, cat_idx[it_sku[v_items]]), (it_qty * it_price)[v_items])
    ok = keep & valid
    np.add.at(acc["gmv_day"], b_day[ok], gmv[ok])


def _hour_profile() -> np.ndarray:
    h = np.arange(24)
    w = 0.3 + np.exp(-((h - 21) ** 2) / 8) + 0.6 * np.exp(-((h - 12) ** 2) / 6)
    return np.repeat(w / w.sum() / 3600, 3600)


def _write_inventory(rng, writer, sales, stockout_sku, n_sku) -> None:
    avg = sales.mean(axis=0) + 0.05
    on_hand = np.ceil(avg * 60).astype(np.int64)
    so_day = (pd.Timestamp(STOCKOUT_FROM) - START).days
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
    inv = pd.DataFrame(
        {
            "date": np.repeat(days, n_sku),
            "sku": np.tile([f"SKU{i:05d}" for i in range(n_sku)], N_DAYS),
            "on_hand": rows.ravel(),
        }
    )
    writer.write("inventory", inv, chunked=False)


def _write_spend(rng, writer, signups) -> None:
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
    writer.write("marketing_spend", pd.concat(rows, ignore_index=True), chunked=False)


def _write_campaigns(writer, cal, acc) -> dict:
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
    writer.write("campaigns", pd.DataFrame(rows), chunked=False)
    spend = pd.read_parquet(writer.out / "marketing_spend.parquet")
    spend = pd.concat([spend, pd.DataFrame(spend_rows)], ignore_index=True)
    writer.write("marketing_spend", spend, chunked=False)
    return truth


def _write_search_index(rng, writer, cal) -> None:
    """A daily control series untouched by our campaigns: category search interest that follows
    the same traffic calendar (growth, weekly and yearly seasonality) with its own noise, as a
    search-trends index would. Used as a CausalImpact control."""
    days = pd.date_range(START, END, freq="D").date
    idx = 100 * cal.day_weight / cal.day_weight[:28].mean() * rng.lognormal(0, 0.04, N_DAYS)
    writer.write(
        "search_index",
        pd.DataFrame({"date": days, "search_index": np.round(idx, 3)}),
        chunked=False,
    )


def _write_targets(writer, gmv_day) -> None:
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
    writer.write("targets", pd.DataFrame(rows), chunked=False)


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


def _write_market(rng, writer, gmv_cat_month) -> dict:
    """Competitors' sales follow a planted market: each category grows at its own yearly rate with
    the traffic seasonality, sized so that our share in 2024 is a planted share; our own sales are
    the shop's GMV by category."""
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
    writer.write("market", pd.DataFrame(rows), chunked=False)
    return {
        "our_brand": brands[0],
        "planted_category_share_2024": dict(
            zip(CATEGORIES, our_share.round(4).tolist(), strict=True)
        ),
        "planted_competitor_market_growth": dict(zip(CATEGORIES, MARKET_GROWTH, strict=True)),
        "note": "market size = our sales + competitors; competitors follow the planted growth",
    }
