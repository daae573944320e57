"""Traffic-source quality (流量来源 / 流量质量): per channel UV, conversion, AOV, GMV per UV,
bounce rate, and where ``marketing_spend`` is present spend, CAC and ROAS.

Definitions (metrics from :mod:`analysis_lib.core.metrics`):
- UV and bounce rate from ``events.channel``; a bounce is a session whose only event is one
  page_view; bounce rate = bounced sessions / sessions;
- buyers, GMV and orders from valid orders by ``orders.channel``; conversion = buyers / UV;
- new customers: buyers whose first valid order ever is in the period (by the channel of that
  order); CAC = spend / new customers; ROAS = GMV / spend.

``channel`` is optional in both ``events`` and ``orders``; without it in either there is nothing to
compare, and the table is empty (same columns). So is a shop without an ``orders`` table (an
event log alone, such as Taobao's UserBehavior): conversion, AOV, GMV per UV and ROAS are counted
from orders; :func:`why_not` says which is the case.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds

COLUMNS = ["channel", "uv", "sessions", "bounced", "bounce_rate", "orders", "buyers", "gmv"]
COLUMNS += ["new_customers", "conversion_rate", "aov", "gmv_per_uv"]


def has_channels(src: DataSource) -> bool:
    """Whether both ``events`` and ``orders`` exist and say which channel each row came from."""
    return all(src.has(t) and "channel" in src.table(t).columns for t in ("events", "orders"))


Reason = Literal["orders", "channel"]


def why_not(src: DataSource) -> Reason | None:
    """Why the traffic-source table is empty for want of data (``None`` when it is not): the
    shop has no orders table (an event log alone), or events or orders have no channel column.
    The report says it in words (:mod:`analysis_lib.present.narrative.funnel`)."""
    if not src.has("orders"):
        return "orders"
    if not has_channels(src):
        return "channel"
    return None


def channel_quality(src: DataSource, start, end) -> pd.DataFrame:
    """One row per channel with the measures in the module docstring (empty without channels or
    without an orders table, :func:`why_not`)."""
    if not has_channels(src):
        return pd.DataFrame(columns=COLUMNS)
    lo, hi = as_date_bounds(start, end)
    ev = src.table("events")
    ev = ev.filter((ev.event_ts >= lo) & (ev.event_ts < hi))
    uv = src.execute(ev.group_by("channel").aggregate(uv=ev.user_id.nunique()))
    out = uv.set_index("channel")
    if "session_id" in ev.columns:
        s = ev.group_by(["channel", "session_id"]).aggregate(
            n=ev.count(), pv=(ev.event == "page_view").cast("int64").sum()
        )
        b = src.execute(
            s.group_by("channel").aggregate(
                sessions=s.count(), bounced=((s.n == 1) & (s.pv == 1)).cast("int64").sum()
            )
        ).set_index("channel")
        out = out.join(b)
        out["bounce_rate"] = M.bounce_rate(out["bounced"], out["sessions"])
    orders = M.valid_orders(src.table("orders"))
    cur = orders.filter((orders.order_ts >= lo) & (orders.order_ts < hi))
    o = src.execute(cur.group_by("channel").aggregate(**M.order_aggregates(cur))).set_index(
        "channel"
    )
    first = orders.group_by("user_id").aggregate(first_ts=orders.order_ts.min())
    firsts = orders.join(
        first, (orders.user_id == first.user_id) & (orders.order_ts == first.first_ts)
    )
    firsts = firsts.filter((firsts.first_ts >= lo) & (firsts.first_ts < hi))
    nc = src.execute(firsts.group_by("channel").aggregate(new_customers=firsts.user_id.nunique()))
    out = out.join(o, how="outer").join(nc.set_index("channel"), how="outer").fillna(0)
    out["conversion_rate"] = M.conversion_rate(out["buyers"], out["uv"])
    out["aov"] = M.aov(out["gmv"], out["orders"])
    out["gmv_per_uv"] = M.safe_div(out["gmv"], out["uv"])
    if src.has("marketing_spend"):
        ms = src.table("marketing_spend")
        ms = ms.filter((ms.date >= lo.date()) & (ms.date < hi.date()))
        sp = src.execute(ms.group_by("channel").aggregate(spend=ms.spend.sum())).set_index(
            "channel"
        )
        out = out.join(sp, how="left")
        out["cac"] = M.cac(out["spend"], out["new_customers"])
        out["roas"] = M.roas(out["gmv"], out["spend"])
    out.index.name = "channel"
    return out.reset_index().sort_values("gmv", ascending=False).reset_index(drop=True)
