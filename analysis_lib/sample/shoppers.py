"""The shop's users simulated one chunk at a time: who they are, their sessions, how far each
session gets down the funnel (with the planted leak, experiment and campaign effects), what they
buy; and the tables written from them, one function per table (``users``, ``assignments``,
``events``, ``orders``, ``order_items``).

The draws from the chunk's random generator happen in a fixed order (users, sessions, funnel,
purchases, events): :func:`simulate_chunk` calls the steps in that order, so a seed gives the same
files byte for byte. A step that draws takes ``rng`` first; a table function without ``rng`` draws
nothing. Totals the other tables and truth.json need (sign-ups, sales, GMV, the experiment's exact
expected conversion, the campaigns' lost and extra GMV) are added to ``acc`` as the chunk goes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis_lib.sample.config import (
    CAMPAIGN_EFFECT,
    CAMPAIGNS,
    CATEGORIES,
    CHANNELS,
    DEVICES,
    EXPERIMENT,
    LEAK,
    N_DAYS,
    P_CART,
    P_CHECKOUT,
    P_PRODUCT_VIEW,
    P_PURCHASE,
    PERSONAS,
    REGIONS,
    SLOW_FROM,
    START,
    STOCKOUT_FROM,
)
from analysis_lib.sample.timeline import (
    Calendar,
    choice_weighted,
    day_in,
    day_index,
    hour_profile,
)
from analysis_lib.sample.writer import Writer

EVENT_NAMES = ["page_view", "product_view", "add_to_cart", "checkout", "purchase"]


@dataclass
class Users:
    """A chunk of users ``lo`` .. ``hi - 1``: their persona's traits, channel, preferred device
    and sign-up (day index and second of the day)."""

    lo: int
    uid: np.ndarray
    persona: np.ndarray
    p_sess: np.ndarray
    p_buy: np.ndarray
    p_basket: np.ndarray
    p_refund: np.ndarray
    channel: np.ndarray
    device_pref: np.ndarray
    signup_day: np.ndarray
    signup_sec: np.ndarray

    @property
    def n(self) -> int:
        return len(self.uid)


@dataclass
class Sessions:
    """Every session of the chunk, sorted by user and day: the user (index in the chunk), day,
    kind (0 regular, 1 extra burst traffic, 2 extra return-phase traffic), campaign (index in
    ``CAMPAIGNS`` for extra traffic, else -1), start second and device."""

    user: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    camp: np.ndarray
    sec: np.ndarray
    device: np.ndarray

    @property
    def n(self) -> int:
        return len(self.user)


@dataclass
class Funnel:
    """How far each session got (``bought`` loses the purchases the campaign dips take away), and
    the experiment's arm per user (-1 when not exposed) with each exposed user's first session."""

    viewed: np.ndarray
    carted: np.ndarray
    checked: np.ndarray
    bought: np.ndarray
    arm: np.ndarray
    first_exp_sess: np.ndarray | None


@dataclass
class Purchases:
    """The bought sessions (``b_idx``, on days ``b_day``) with their lines (``it_*``, one per order line, ``it_order``
    the purchase it belongs to), GMV before and after discount, status, and ``keep``: the purchases
    the campaign dips did not take away (only those become orders)."""

    b_idx: np.ndarray
    b_day: np.ndarray
    it_order: np.ndarray
    it_day: np.ndarray
    it_sku: np.ndarray
    it_qty: np.ndarray
    it_price: np.ndarray
    gmv: np.ndarray
    full_gmv: np.ndarray
    status: np.ndarray
    valid: np.ndarray
    keep: np.ndarray


def draw_users(rng, lo: int, hi: int, cal: Calendar) -> Users:
    """Persona, channel, preferred device; sign-up day growing with the same calendar as traffic
    (early users carry over from before the calendar)."""
    n = hi - lo
    persona_names = list(PERSONAS)
    shares = np.array([PERSONAS[p][0] for p in persona_names])
    persona = rng.choice(len(persona_names), n, p=shares)

    def trait(i):
        return np.array([PERSONAS[p][i] for p in persona_names])[persona]

    channel = rng.choice(len(CHANNELS), n, p=list(CHANNELS.values()))
    device_pref = rng.choice(len(DEVICES), n, p=list(DEVICES.values()))
    signup_day = np.searchsorted(cal.cdf, rng.random(n) ** 1.15)
    signup_day = np.minimum(signup_day, N_DAYS - 1)
    signup_sec = rng.integers(0, 86400, n)
    return Users(
        lo=lo,
        uid=np.array([f"u{i:08d}" for i in range(lo, hi)], dtype=object),
        persona=persona,
        p_sess=trait(1),
        p_buy=trait(2),
        p_basket=trait(3),
        p_refund=trait(4),
        channel=channel,
        device_pref=device_pref,
        signup_day=signup_day,
        signup_sec=signup_sec,
    )


def users_table(rng, u: Users) -> pd.DataFrame:
    """The ``users`` table: sign-up time, channel and demographics (drawn here: age, gender,
    region, city tier) and the persona (not canonical; kept for checks)."""
    n = u.n
    return pd.DataFrame(
        {
            "user_id": u.uid,
            "signup_ts": START
            + pd.to_timedelta(u.signup_day, unit="D")
            + pd.to_timedelta(u.signup_sec, unit="s"),
            "channel": np.array(list(CHANNELS))[u.channel],
            "age": np.clip(rng.normal(np.where(u.persona == 0, 36, 30), 9), 16, 75).astype(int),
            "gender": rng.choice(["F", "M"], n, p=[0.58, 0.42]),
            "region": rng.choice(REGIONS, n),
            "city_tier": rng.choice([1, 2, 3, 4], n, p=[0.2, 0.35, 0.3, 0.15]),
            "persona": np.array(list(PERSONAS))[u.persona],
        }
    )


def draw_sessions(rng, u: Users, cal: Calendar) -> Sessions:
    """Regular sessions (the first at sign-up, the rest spread over the calendar after it) and the
    campaigns' extra sessions on burst and return days, from users who signed up before."""
    n, signup_day = u.n, u.signup_day
    active = 1 - cal.cdf[signup_day] + cal.day_weight[signup_day] / cal.day_weight.sum()
    extra = rng.poisson(np.maximum(u.p_sess * active - 1, 0))
    s_user = np.concatenate([np.arange(n), np.repeat(np.arange(n), extra)])
    base_cdf = cal.cdf[signup_day[s_user[n:]]]
    later = np.searchsorted(cal.cdf, base_cdf + rng.random(len(base_cdf)) * (1 - base_cdf))
    s_day = np.concatenate([signup_day, np.minimum(later, N_DAYS - 1)])
    s_kind = np.zeros(len(s_user), np.int8)  # 0 regular, 1 burst extra, 2 return extra
    s_camp = np.full(len(s_user), -1, np.int16)

    extra_users, extra_days, extra_kind, extra_camp = [], [], [], []
    for k, (cid, *_rest) in enumerate(CAMPAIGNS):
        ph = cal.phase[cid]
        for kind, key, mult in (
            (1, "burst", "burst_extra_sessions"),
            (2, "return", "return_extra_sessions"),
        ):
            in_phase = day_in(s_day, ph[key])
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
        s_day == signup_day[s_user], u.signup_sec[s_user], rng.choice(86400, ns, p=hour_profile())
    )
    s_sec = np.minimum(s_sec, 86400 - 900)
    s_device = np.where(
        rng.random(ns) < 0.8, u.device_pref[s_user], rng.integers(0, len(DEVICES), ns)
    )
    return Sessions(s_user, s_day, s_kind, s_camp, s_sec, s_device)


def draw_funnel(rng, u: Users, s: Sessions, acc: dict) -> Funnel:
    """Each session's steps: base step probabilities times the persona's purchase multiplier, the
    leak (checkout -> purchase on ``LEAK["device"]`` from ``LEAK["start"]``), campaign traffic's
    higher intent, and the experiment's lift for treated users. Adds to ``acc`` the leak's
    sessions and the experiment's users, buyers and exact expected conversion per arm (from the
    per-session probabilities, not estimated)."""
    n, ns, s_user, s_day, s_kind = u.n, s.n, s.user, s.day, s.kind
    date_leak = day_index(LEAK["start"])
    is_mw = s.device == list(DEVICES).index(LEAK["device"])
    p_purchase = np.full(ns, P_PURCHASE) * u.p_buy[s_user]
    p_purchase = np.where(is_mw & (s_day >= date_leak), p_purchase * LEAK["mult"], p_purchase)
    p_purchase = np.where(
        s_kind > 0, p_purchase * CAMPAIGN_EFFECT["extra_purchase_mult"], p_purchase
    )
    # experiment: users with a regular session in its window, split at random
    e0, e1 = day_index(EXPERIMENT["start"]), day_index(EXPERIMENT["end"])
    in_exp = day_in(s_day, (e0, e1)) & (s_kind == 0)
    exp_users = np.unique(s_user[in_exp])
    arm = np.full(n, -1)
    arm[exp_users] = (rng.random(exp_users.size) < EXPERIMENT["planned_split"][1]).astype(int)
    treated = in_exp & (arm[s_user] == 1)
    p_purchase_ctrl = np.minimum(p_purchase, 0.98)
    p_purchase = np.where(treated, p_purchase * EXPERIMENT["purchase_prob_mult"], p_purchase)
    p_purchase = np.minimum(p_purchase, 0.98)

    draw = rng.random((ns, 4))
    viewed = draw[:, 0] < P_PRODUCT_VIEW
    carted = viewed & (draw[:, 1] < np.minimum(P_CART * np.where(s_kind > 0, 1.4, 1.0), 0.95))
    checked = carted & (draw[:, 2] < P_CHECKOUT)
    bought = checked & (draw[:, 3] < p_purchase)

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
    first_exp_sess = None
    if exp_users.size:
        idx = np.flatnonzero(in_exp)
        _, first = np.unique(s_user[idx], return_index=True)
        first_exp_sess = idx[first]
    return Funnel(viewed, carted, checked, bought, arm, first_exp_sess)


def assignments_table(u: Users, s: Sessions, f: Funnel) -> pd.DataFrame | None:
    """The ``assignments`` table: each exposed user's variant, assigned at their first session in
    the experiment's window; None when no user of the chunk was exposed."""
    if f.first_exp_sess is None:
        return None
    first = f.first_exp_sess
    return pd.DataFrame(
        {
            "experiment_id": EXPERIMENT["experiment_id"],
            "unit_id": u.uid[s.user[first]],
            "variant": np.array(EXPERIMENT["variants"])[f.arm[s.user[first]]],
            "assigned_ts": START
            + pd.to_timedelta(s.day[first], unit="D")
            + pd.to_timedelta(s.sec[first], unit="s"),
        }
    )


def draw_purchases(
    rng, u: Users, s: Sessions, f: Funnel, cal: Calendar, pop, slow, stockout_sku, price, acc
) -> Purchases:
    """What each bought session buys (lines by popularity; slow movers stop selling from
    ``SLOW_FROM``; the stock-out SKU from ``STOCKOUT_FROM``), the campaigns' discount, status
    (cancelled, refunded by persona, paid), and the campaign dips: purchases taken away in
    pre-heat and after (those buyers waited or were pulled forward). Clears ``f.bought`` of the
    purchases taken away, and adds each campaign's lost and extra GMV to ``acc``."""
    b_idx = np.flatnonzero(f.bought)
    nb = b_idx.size
    b_user = s.user[b_idx]
    b_day = s.day[b_idx]
    n_items = 1 + rng.poisson(0.6 * u.p_basket[b_user])
    it_order = np.repeat(np.arange(nb), n_items)
    it_day = b_day[it_order]
    w_recent = np.where(slow, 0.0, pop)
    sku_a = choice_weighted(rng, pop, it_order.size)
    sku_b = choice_weighted(rng, w_recent, it_order.size)
    it_sku = np.where(it_day >= day_index(SLOW_FROM), sku_b, sku_a)
    so_day = day_index(STOCKOUT_FROM)
    out_of_stock = (it_sku == stockout_sku) & (it_day >= so_day)
    it_sku = np.where(out_of_stock, choice_weighted(rng, w_recent, it_order.size), it_sku)
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
        np.where(u_status < 0.04 + u.p_refund[b_user], "refunded", "paid"),
    )
    valid = status != "cancelled"

    keep = np.ones(nb, bool)
    b_kind, b_camp = s.kind[b_idx], s.camp[b_idx]
    for cid, *_r in CAMPAIGNS:
        ph = cal.phase[cid]
        c = acc["camp"][cid]
        for key, drop in (("preheat", "preheat_purchase_drop"), ("post", "post_purchase_drop")):
            sel = day_in(b_day, ph[key]) & (b_kind == 0) & (rng.random(nb) < CAMPAIGN_EFFECT[drop])
            keep &= ~sel
            c[f"{key}_lost_gmv"] += float(gmv[sel & valid].sum())
        k = [x[0] for x in CAMPAIGNS].index(cid)
        c["burst_extra_gmv"] += float(gmv[(b_kind == 1) & (b_camp == k) & valid].sum())
        c["return_extra_gmv"] += float(gmv[(b_kind == 2) & (b_camp == k) & valid].sum())
        reg = (b_kind == 0) & valid
        for key in ("burst", "return"):
            sel = reg & day_in(b_day, ph[key])
            c["discount_loss"] += float((full_gmv[sel] - gmv[sel]).sum())
    f.bought[b_idx[~keep]] = False
    return Purchases(
        b_idx, b_day, it_order, it_day, it_sku, it_qty, it_price, gmv, full_gmv, status, valid, keep
    )


def events_table(rng, u: Users, s: Sessions, f: Funnel, pop, sku_names) -> pa.Table:
    """The ``events`` table: each session's page views (a geometric number), then one event per
    step reached, seconds apart; product views and carts name a SKU. Sorted by time, as event logs
    arrive, so engines can skip row groups outside a period."""
    ns = s.n
    n_pv = rng.geometric(0.45, ns)
    n_ev = n_pv + f.viewed + f.carted + f.checked + f.bought
    e_sess = np.repeat(np.arange(ns), n_ev)
    pos = np.arange(e_sess.size) - np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
    npv = n_pv[e_sess]
    step = np.where(pos < npv, 0, pos - npv + 1)  # index in EVENT_NAMES
    names = np.array(EVENT_NAMES, dtype=object)
    gap = np.where(pos == 0, 0.0, rng.exponential(40, e_sess.size) + 1.0)
    cum = np.cumsum(gap)
    offs = cum - np.repeat(cum[np.cumsum(n_ev) - n_ev], n_ev)  # seconds since session start
    ts = (START + pd.to_timedelta(s.day[e_sess], unit="D")) + pd.to_timedelta(
        s.sec[e_sess] + offs, unit="s"
    )
    view_sku = choice_weighted(rng, pop, ns)
    e_sku = np.where((step >= 1) & (step <= 2), view_sku[e_sess], -1)
    sess_ids = pa.array(
        np.char.add("s", np.char.mod("%010d", np.arange(ns) + u.lo * 100)).astype(object)
    )
    dev_names = np.array(list(DEVICES), dtype=object)
    events = pa.table(
        {
            "event_ts": pa.array(ts.values.astype("datetime64[us]")),
            "user_id": pa.array(u.uid, pa.string()).take(pa.array(s.user[e_sess])),
            "event": pa.array(names, pa.string()).take(pa.array(step)),
            "session_id": sess_ids.cast(pa.string()).take(pa.array(e_sess)),
            "channel": pa.array(np.array(list(CHANNELS), dtype=object), pa.string()).take(
                pa.array(u.channel[s.user[e_sess]])
            ),
            "device": pa.array(dev_names, pa.string()).take(pa.array(s.device[e_sess])),
            "sku": pa.array(sku_names, pa.string())
            .take(
                pa.array(np.where(e_sku < 0, 0, e_sku)),
            )
            .to_pandas()
            .where(e_sku >= 0, None),
        }
    )
    return events.sort_by("event_ts")


def order_ids(u: Users, p: Purchases) -> np.ndarray:
    """The ids of the kept purchases (unique across chunks: the chunk's first user is in them)."""
    kb = np.flatnonzero(p.keep)
    return np.char.add("o", np.char.mod("%011d", kb + u.lo * 1000)).astype(object)


def orders_table(u: Users, s: Sessions, p: Purchases, cal: Calendar, o_ids, region) -> pd.DataFrame:
    """The ``orders`` table (kept purchases only): placed 880 s into the session; the campaign of
    the day (pre-heat to return phase); the user's region (``region``: the users table's)."""
    kb = np.flatnonzero(p.keep)
    b_sess = p.b_idx[kb]
    o_ts = (
        START
        + pd.to_timedelta(s.day[b_sess], unit="D")
        + pd.to_timedelta(s.sec[b_sess] + 880, unit="s")
    )
    o_user = s.user[b_sess]
    camp_of_day = np.full(N_DAYS, None, dtype=object)
    for cid, *_r in CAMPAIGNS:
        ph = cal.phase[cid]
        camp_of_day[ph["preheat"][0] : ph["return"][1] + 1] = cid
    gmv, full_gmv = p.gmv[kb], p.full_gmv[kb]
    return pd.DataFrame(
        {
            "order_id": o_ids,
            "user_id": u.uid[o_user],
            "order_ts": o_ts,
            "gmv": np.round(gmv, 2),
            "status": p.status[kb],
            "channel": np.array(list(CHANNELS))[u.channel[o_user]],
            "device": np.array(list(DEVICES))[s.device[b_sess]],
            "discount": np.round(full_gmv - gmv, 2),
            "shipping_fee": np.where(gmv >= 99, 0.0, 8.0),
            "campaign_id": camp_of_day[s.day[b_sess]],
            "region": region[o_user],
        }
    )


def order_items_table(p: Purchases, o_ids, sku_names, unit_cost) -> pd.DataFrame:
    """The ``order_items`` table: the lines of the kept purchases, with the SKU's cost."""
    it_keep = p.keep[p.it_order]
    remap = np.cumsum(p.keep) - 1
    return pd.DataFrame(
        {
            "order_id": o_ids[remap[p.it_order[it_keep]]],
            "sku": sku_names[p.it_sku[it_keep]],
            "quantity": p.it_qty[it_keep],
            "unit_price": p.it_price[it_keep],
            "unit_cost": unit_cost[p.it_sku[it_keep]],
        }
    )


def add_sales(acc: dict, p: Purchases, products: pd.DataFrame) -> None:
    """Add the chunk's valid sales to the totals: units per day and SKU (for inventory), GMV per
    month and category (for the market), GMV per day (for targets and campaigns)."""
    v_items = p.keep[p.it_order] & p.valid[p.it_order]
    it_day, it_sku, it_qty, it_price = p.it_day, p.it_sku, p.it_qty, p.it_price
    np.add.at(acc["sales"], (it_day[v_items], it_sku[v_items]), it_qty[v_items])
    cat_idx = pd.Categorical(products["category"], categories=CATEGORIES).codes
    month = START + pd.to_timedelta(it_day[v_items], unit="D")
    m_idx = (month.year - START.year) * 12 + month.month - 1
    np.add.at(acc["gmv_cat_month"], (m_idx, cat_idx[it_sku[v_items]]), (it_qty * it_price)[v_items])
    ok = p.keep & p.valid
    np.add.at(acc["gmv_day"], p.b_day[ok], p.gmv[ok])


def simulate_chunk(
    rng, lo: int, hi: int, cal: Calendar, products, pop, slow, stockout_sku, writer: Writer, acc
) -> None:
    """Simulate users ``lo`` .. ``hi - 1`` and write their part of each table."""
    price = products["price"].to_numpy()
    sku_names = products["sku"].to_numpy(dtype=object)
    u = draw_users(rng, lo, hi, cal)
    users = users_table(rng, u)
    writer.write("users", users, chunked=True)
    np.add.at(acc["signups"], (u.signup_day, u.channel), 1)
    s = draw_sessions(rng, u, cal)
    f = draw_funnel(rng, u, s, acc)
    assignments = assignments_table(u, s, f)
    if assignments is not None:
        writer.write("assignments", assignments, chunked=True)
    p = draw_purchases(rng, u, s, f, cal, pop, slow, stockout_sku, price, acc)
    events = events_table(rng, u, s, f, pop, sku_names)
    writer.write("events", events, chunked=True)
    acc["n_events"] += events.num_rows
    o_ids = order_ids(u, p)
    orders = orders_table(u, s, p, cal, o_ids, users["region"].to_numpy())
    writer.write("orders", orders, chunked=True)
    acc["n_orders"] += len(orders)
    writer.write(
        "order_items",
        order_items_table(p, o_ids, sku_names, products["cost"].to_numpy()),
        chunked=True,
    )
    add_sales(acc, p, products)
