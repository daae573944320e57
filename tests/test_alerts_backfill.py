"""Anomaly alerts (issue 21) quarter by quarter on the sample shop, and on campaign days.

How false alerts are counted here: each quarter is backfilled as the daily runs would have judged
it (models refitted every 28 days on the two years before), all seven KPIs; a false alert is a
(KPI, day) flagged at shop level (the model's anomaly on the shop's total, or a day without data)
on a day that no planted anomaly of truth.json touches. A KPI-day counts once. The shop's figures
do not depend on the breakdowns judged beside them (each series has its own model and the total
its own alpha), so the quarters without a planted anomaly are judged at shop level only.

The campaign checks: a campaign's phases are judged against the history's campaigns pooled as a
random effect (their spread widens the interval), and a real loss on a burst day must still
alert.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_lib.analyses import alerts as A
from analysis_lib.core import data
from analysis_lib.sample import sample_data
from tests.conftest import SAMPLE_SEED
from tests.test_alerts import _finds, _planted_days

QUARTERS = {
    "2024-12..2025-02": (dt.date(2024, 12, 1), dt.date(2025, 2, 28)),
    "2025-Q2": (dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
    "2025-Q3": (dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
    "2025-Q4": (dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
}
BURST = dt.date(2025, 11, 11)  # Double 11 2025's second burst day


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("alerts_backfill") / "sample"
    return out, sample_data.generate(out, "s", SAMPLE_SEED)


def _false_alerts(recs: list[dict], planted: set[dt.date]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for r in recs:
        if dt.date.fromisoformat(r["day"]) in planted:
            continue
        if r["kind"] == "no_data" or (r["kind"] == "anomaly" and not r["dimension"]):
            out.setdefault(r.get("kpi", r["kind"]), set()).add(r["day"])
    return {k: sorted(v) for k, v in out.items()}


@pytest.mark.slow
@pytest.mark.parametrize("quarter", list(QUARTERS))
def test_each_quarter_at_most_one_false_alert_per_kpi_and_every_planted_found(shop, quarter):
    out, truth = shop
    lo, hi = QUARTERS[quarter]
    planted = [(a, d) for a, d in _planted_days(truth) if lo <= d <= hi]
    # a channel that dries up is found in its own series: breakdowns where anomalies are planted
    dims = A.DIMENSIONS if planted else ()
    days = list(pd.date_range(lo, hi, freq="D").date)
    a = A.detect(data.connect(str(out)), days, dims=dims)
    recs = A.records(a, {})
    missed = [(x["kind"], d) for x, d in planted if not _finds(x, d, recs)]
    assert not missed
    false = _false_alerts(recs, {d for _, d in _planted_days(truth)})
    assert all(len(v) <= 1 for v in false.values()), false
    judged = a.judged[a.judged["dimension"] == ""]
    assert set(judged["kpi"]) == set(A.ALERT_KPIS)  # every KPI was judged
    assert len(judged) >= 0.95 * len(days) * len(A.ALERT_KPIS)


@pytest.mark.slow
def test_an_outage_on_a_burst_day_still_alerts(shop, tmp_path):
    """Double 11's burst day with 60% of its orders lost (a payment outage through the evening
    peak, visits as usual): the daily run flags orders, buyers and GMV down; the same day as it
    was is not flagged (the campaign alone is no anomaly)."""
    out, _ = shop
    cut = tmp_path / "sample"
    shutil.copytree(out, cut)
    files = sorted((cut / "orders").glob("*.parquet"))
    o = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    on = (o["order_ts"].dt.date == BURST).to_numpy()
    rng = np.random.default_rng(1)
    lost = on & (rng.random(len(o)) < 0.6)
    for f in files:
        f.unlink()
    o[~lost].to_parquet(files[0], index=False)

    def shop_alerts(folder):
        a = A.detect(data.connect(str(folder)), [BURST], dims=())
        return {(x.judged.kpi, x.judged.direction) for x in a.anomalies}, a

    before, a0 = shop_alerts(out)
    after, a1 = shop_alerts(cut)
    assert not {k for k, _ in before} & {"orders", "buyers", "gmv"}, before
    assert {("orders", "down"), ("buyers", "down"), ("gmv", "down")} <= after, after
    # the interval on the burst day is a campaign's, not an ordinary day's
    j = a0.judged.set_index("kpi")
    assert j.loc["orders", "ci_low"] > 3 * a0.history.query("dimension == ''")["orders"].median()
    assert int(on.sum()) > 50 and int(lost.sum()) < int(on.sum())


# --- simulated shops whose campaigns differ in size ------------------------------------------------

PHASE_EFFECT = {  # mean and campaign-to-campaign spread of each phase's effect (log scale)
    "preheat": (-0.1, 0.05),
    "burst": (1.6, 0.15),
    "return": (0.7, 0.15),
    "post": (-0.2, 0.05),
}
PHASE_DAYS = {"preheat": 10, "burst": 2, "return": 2, "post": 14}


def _campaign_shop(rng, n_days: int = 760, level: float = 30.0):
    """Daily orders (Poisson, weekend, growth) with a campaign every 170 days, each campaign's
    phase effects drawn around :data:`PHASE_EFFECT`; the last campaign is the one judged."""
    days = pd.date_range("2023-01-02", periods=n_days, freq="D")
    eta = np.log(level) + np.where(days.day_of_week >= 5, np.log(1.25), 0.0)
    eta = eta + 0.25 * np.arange(n_days) / 365.25
    rows = []
    starts = list(range(60, n_days - 30, 170))
    for k, d in enumerate(starts):
        for ph, n in PHASE_DAYS.items():
            eta[d : d + n] += rng.normal(*PHASE_EFFECT[ph])
            rows += [(days[i], ph, f"C{k}") for i in range(d, d + n)]
            d += n
    p = pd.DataFrame(rows, columns=["day", "phase", "campaign"])
    promo = pd.crosstab(p["day"], p["phase"]).reindex(columns=list(A.PHASES), fill_value=0)
    promo = promo.astype(float)
    promo["campaign"] = p.set_index("day")["campaign"]
    y = rng.poisson(np.exp(eta)).astype(float)
    df = pd.DataFrame({"day": days, "orders": y})
    return df, promo, starts[-1]


@pytest.mark.slow
def test_campaign_days_within_nominal_and_a_burst_day_outage_found():
    """40 simulated shops, four campaigns of different sizes in each history, the fifth judged
    (28 days, pre-heat to the post-campaign window): n = 1,120 campaign KPI-days at a nominal
    2%; the rate must be within the nominal one plus three standard errors. A burst day with 60%
    of its orders lost must alert in at least 90% of the shops."""
    alpha, n_shops = 0.02, 40
    rng = np.random.default_rng(11)
    hits = n = found = 0
    for _ in range(n_shops):
        df, promo, start = _campaign_shop(rng)
        f = A.fit("orders", df.iloc[:start], promo)
        got = A.predict(f, df.iloc[start : start + 28], promo, alpha)
        assert not any(j.unseen_promo for j in got)
        hits += sum(j.anomaly for j in got)
        n += len(got)
        burst = df.iloc[[start + PHASE_DAYS["preheat"]]].assign(
            orders=lambda x: np.round(x["orders"] * 0.4)
        )
        found += sum(j.anomaly for j in A.predict(f, burst, promo, alpha))
    rate = hits / n
    assert rate <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / n), (rate, n)
    assert found >= 0.9 * n_shops, found
