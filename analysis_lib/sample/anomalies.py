"""Anomalies planted in the sample shop's daily KPIs, for the KPI monitor's alerts to find.

Four, each on days that disturb no other planted truth (not in a campaign's pre-heat to post
window nor in the 16 weeks before a pre-heat that the campaign tests fit on, not in the A/B
experiment, not in the funnel leak's December):

- ``outage``: a payment outage: no order (and no purchase event) all day; visits as usual.
- ``channel_drop``: a traffic source that dried up: most sessions of one channel (and its
  orders) gone for a few days.
- ``refund_spike``: most paid orders of one day refunded.
- ``missing_day``: a feed that did not arrive: no orders, order lines or events at all that day.

They are applied as the chunks' orders, order lines and events are written (:class:`PlantingWriter`),
with a random stream of their own (never the shop's), so every row outside the anomaly days is
written exactly as before. The tables built from the running totals (inventory, targets, market,
campaign truth) are left as the shop would have been without them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis_lib.sample.writer import Writer

# kind, first day, last day, what it hits (channel for a channel drop), share of rows hit
ANOMALIES = [
    {"kind": "outage", "start": "2024-12-14", "end": "2024-12-14", "share": 1.0},
    {
        "kind": "channel_drop",
        "start": "2025-01-14",
        "end": "2025-01-16",
        "dimension": "channel",
        "value": "search",
        "share": 0.9,
    },
    {"kind": "refund_spike", "start": "2025-01-22", "end": "2025-01-22", "share": 0.8},
    {"kind": "missing_day", "start": "2025-02-05", "end": "2025-02-05", "share": 1.0},
]
# the KPIs each kind moves (what the alerts should flag)
KPIS_HIT = {
    "outage": ["gmv", "orders", "buyers", "conversion_rate"],
    "channel_drop": ["uv", "gmv", "orders", "buyers"],
    "refund_spike": ["refund_rate"],
    "missing_day": ["no_data"],
}
# a stream of its own: a fixed word mixed into the shop's seed
_STREAM = 0xA1E27


def _days(a: dict) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(a["start"]), pd.Timestamp(a["end"]) + pd.Timedelta(days=1)


def truth() -> list[dict]:
    """The anomalies as truth.json states them."""
    return [a | {"kpis": KPIS_HIT[a["kind"]]} for a in ANOMALIES]


class PlantingWriter(Writer):
    """The shop's writer, with the anomalies applied to each chunk's orders, order lines and
    events. Its draws come from ``(seed, _STREAM, table, part)``, so they neither use nor shift
    the shop's random streams."""

    def __init__(self, out, seed: int):
        super().__init__(out)
        self.seed = seed
        self.dropped = {"orders": 0, "events": 0}
        self._gone_orders: set[str] = set()

    def _rng(self, name: str) -> np.random.Generator:
        table = ["events", "orders"].index(name)
        return np.random.default_rng([self.seed, _STREAM, table, self.parts.get(name, 0)])

    def write(self, name, table, chunked):
        if name == "orders":
            table = self._orders(table)
        elif name == "order_items" and self._gone_orders:
            table = table[~table["order_id"].isin(self._gone_orders)].reset_index(drop=True)
            self._gone_orders = set()
        elif name == "events":
            table = self._events(table)
        super().write(name, table, chunked)

    def _orders(self, df: pd.DataFrame) -> pd.DataFrame:
        rng = self._rng("orders")
        ts = pd.to_datetime(df["order_ts"])
        drop = np.zeros(len(df), bool)
        status = df["status"].to_numpy(dtype=object).copy()
        for a in ANOMALIES:
            lo, hi = _days(a)
            on = ((ts >= lo) & (ts < hi)).to_numpy()
            draw = rng.random(len(df))  # one draw per row and anomaly, whatever is hit
            if a["kind"] in ("outage", "missing_day"):
                drop |= on
            elif a["kind"] == "channel_drop":
                drop |= on & (df[a["dimension"]].to_numpy() == a["value"]) & (draw < a["share"])
            elif a["kind"] == "refund_spike":
                flip = on & (status == "paid") & (draw < a["share"])
                status[flip] = "refunded"
        if not drop.any() and (status == df["status"].to_numpy(dtype=object)).all():
            return df
        self._gone_orders = set(df.loc[drop, "order_id"])
        self.dropped["orders"] += int(drop.sum())
        out = df.assign(status=status)[~drop].reset_index(drop=True)
        return out

    def _events(self, t: pa.Table) -> pa.Table:
        rng = self._rng("events")
        ts = t.column("event_ts")
        keep = pa.array(np.ones(t.num_rows, bool))
        for a in ANOMALIES:
            lo, hi = _days(a)
            on = pc.and_(
                pc.greater_equal(ts, pa.scalar(lo, ts.type)), pc.less(ts, pa.scalar(hi, ts.type))
            )
            if a["kind"] == "missing_day":
                hit = on
            elif a["kind"] == "outage":
                hit = pc.and_(on, pc.equal(t.column("event"), "purchase"))
            elif a["kind"] == "channel_drop":
                on = pc.and_(on, pc.equal(t.column(a["dimension"]), a["value"]))
                # whole sessions go: one draw per session of the chunk
                sess = t.column("session_id").to_numpy(zero_copy_only=False)
                codes, uniq = pd.factorize(sess)
                gone = rng.random(len(uniq)) < a["share"]
                hit = pc.and_(on, pa.array(gone[codes]))
            else:
                continue
            keep = pc.and_(keep, pc.invert(pc.fill_null(hit, False)))
        n_drop = t.num_rows - pc.sum(pc.cast(keep, pa.int64())).as_py()
        if n_drop == 0:
            return t
        self.dropped["events"] += n_drop
        return t.filter(keep)
