"""Metric definitions (统一口径): each metric defined once, with its English and Chinese label.

Counts are Ibis aggregations that run in the engine; ratios are functions of those counts and
work on scalars and pandas Series alike. A report never computes a metric its own way.

- GMV counts orders with status paid or refunded (cancelled excluded).
- orders: such orders; buyers: distinct users with such an order.
- AOV (客单价) = GMV / orders.
- UV: distinct users with any event; conversion rate = buyers / UV.
- refund rate = GMV of refunded orders / GMV.
- deviation rate (偏差率) = actual / target - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

VALID_STATUSES = ("paid", "refunded")
ORDER_STATUSES = ("paid", "refunded", "cancelled")  # the canonical model's statuses


@dataclass(frozen=True)
class Metric:
    """A metric's key, labels, display kind (money, count, pct, ratio) and whether it adds up
    over time (so a monthly target can be pro-rated by days)."""

    key: str
    en: str
    zh: str
    kind: str
    additive: bool


METRICS: dict[str, Metric] = {
    m.key: m
    for m in [
        Metric("gmv", "GMV", "GMV（成交额）", "money", True),
        Metric("orders", "Orders", "订单数", "count", True),
        Metric("buyers", "Buyers", "购买用户数", "count", False),
        Metric("aov", "AOV", "客单价", "money", False),
        Metric("uv", "UV", "访客数 UV", "count", False),
        Metric("conversion_rate", "Conversion rate", "转化率", "pct", False),
        Metric("refund_rate", "Refund rate", "退款率", "pct", False),
        Metric("refunded_gmv", "Refunded GMV", "退款金额", "money", True),
        Metric("new_buyers", "New buyers", "新购买用户", "count", False),
        Metric("returning_buyers", "Returning buyers", "老购买用户", "count", False),
        Metric("orders_per_buyer", "Orders per buyer", "人均订单数", "ratio", False),
        Metric("deviation_rate", "Deviation rate", "偏差率", "pct", False),
        Metric("market_size", "Market size", "市场规模", "money", True),
        Metric("our_share", "Our share", "我们的份额", "pct", False),
        Metric("our_rank", "Our rank", "排名", "count", False),
        Metric("bounce_rate", "Bounce rate", "跳失率", "pct", False),
        Metric("gmv_per_uv", "GMV per UV", "UV 价值", "money", False),
        Metric("spend", "Spend", "投放花费", "money", True),
        Metric("new_customers", "New customers", "新客数", "count", False),
        Metric("cac", "CAC", "获客成本", "money", False),
        Metric("roas", "ROAS", "ROAS（广告支出回报）", "ratio", False),
        Metric("skus_sold", "SKUs sold", "有销售的 SKU", "count", False),
        Metric("skus_in_catalogue", "SKUs in the products table", "商品表 SKU 数", "count", False),
    ]
}


def label(key: str, lang: str = "en") -> str:
    """The metric's label in ``lang`` (``en`` or ``zh``); the key itself when unknown."""
    m = METRICS.get(key)
    if m is None:
        return key
    return m.zh if lang == "zh" else m.en


def safe_div(num, den):
    """num / den, NaN where den is 0 or missing (scalars or Series)."""
    if isinstance(num, pd.Series | np.ndarray) or isinstance(den, pd.Series | np.ndarray):
        den = pd.Series(den, dtype="float64") if not isinstance(den, pd.Series) else den
        return pd.Series(num, dtype="float64") / den.where(den != 0)
    if den is None or den == 0 or pd.isna(den):
        return float("nan")
    return float(num) / float(den)


def aov(gmv, orders):
    """AOV (客单价) = GMV / orders."""
    return safe_div(gmv, orders)


def conversion_rate(buyers, uv):
    """Conversion rate = buyers / UV."""
    return safe_div(buyers, uv)


def refund_rate(refunded_gmv, gmv):
    """Refund rate = refunded GMV / GMV."""
    return safe_div(refunded_gmv, gmv)


def orders_per_buyer(orders, buyers):
    """Orders per buyer = orders / buyers."""
    return safe_div(orders, buyers)


def cac(spend, new_customers):
    """CAC (获客成本) = marketing spend / new customers acquired."""
    return safe_div(spend, new_customers)


def roas(gmv, spend):
    """ROAS = GMV / marketing spend."""
    return safe_div(gmv, spend)


def bounce_rate(bounced_sessions, sessions):
    """Bounce rate (跳失率) = sessions with a single page_view and nothing else / sessions."""
    return safe_div(bounced_sessions, sessions)


def deviation_rate(actual, target):
    """Deviation rate (偏差率) = actual / target - 1."""
    r = safe_div(actual, target)
    return r - 1


def valid_orders(orders: ibis.Table) -> ibis.Table:
    """Orders that count towards GMV: status paid or refunded."""
    return orders.filter(orders.status.isin(VALID_STATUSES))


def order_aggregates(orders: ibis.Table) -> dict[str, ibis.Expr]:
    """Aggregations over *valid* orders: gmv, orders, buyers, refunded_gmv."""
    return {
        "gmv": orders.gmv.sum().coalesce(0),
        "orders": orders.order_id.nunique(),
        "buyers": orders.user_id.nunique(),
        "refunded_gmv": (orders.status == "refunded").ifelse(orders.gmv, 0).sum().coalesce(0),
    }


def add_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Add aov, conversion_rate, refund_rate and orders_per_buyer to a frame of counts."""
    out = df.copy()
    out["aov"] = aov(out["gmv"], out["orders"])
    if "uv" in out:
        out["conversion_rate"] = conversion_rate(out["buyers"], out["uv"])
    out["refund_rate"] = refund_rate(out["refunded_gmv"], out["gmv"])
    out["orders_per_buyer"] = orders_per_buyer(out["orders"], out["buyers"])
    return out
