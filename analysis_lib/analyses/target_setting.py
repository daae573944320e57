"""Target setting (目标设定): a baseline forecast of monthly GMV, the driver tree, top-down
allocation of an annual target, feasibility and what-if scenarios.

- Forecast: statsmodels ``UnobservedComponents`` on log GMV: a local linear trend, monthly
  seasonality given two full seasons of history (multiplicative on GMV), and with a promo calendar
  the campaign days per month as a regressor. Intervals and the distribution of the year's total
  come from simulated paths of the fitted model, never from summing monthly bounds. (ETS with a
  damped trend was tried first: on series with a planted 30% growth it forecast 17-29% and its 80%
  intervals covered 62% of held-out months; this model: 29-32% and 81%.)
- Feasibility: the central figure is the median of the simulated totals of the year (the forecast
  is skewed: its mean lies above the median), and P(reach target) is the share of the same
  simulated totals at or above the target, so it is below 50% exactly when the median is below.
- Driver tree: GMV = UV x conversion rate x orders per buyer x AOV (the product is exact; orders per
  buyer is stated because AOV is GMV / orders while conversion is buyers / UV), from its stated
  base, the last twelve months: each driver alone must scale by target / GMV of those months.
- Allocation: months at one common quantile of their own forecast (:func:`monthly_split`), so
  every month's target is as hard to reach as any other's, follows the seasonal shape and sits
  inside the forecast band whenever the year's target does not ask more than the band allows;
  channels and categories by their share of the last twelve months; every allocation is in cents
  and sums exactly to its total (largest remainder).
- Year to date: when the data already holds complete months of the target year, their actual GMV
  against the target and the forecast over the same months (:class:`YearToDate`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analysis_lib.core import metrics as M
from analysis_lib.core.data import DataSource, as_date_bounds
from analysis_lib.errors import DataError


def monthly_history(src: DataSource, start, end) -> pd.DataFrame:
    """Per month in ``[start, end]``: gmv, orders, buyers and, with events, uv; plus the ratios."""
    lo, hi = as_date_bounds(start, end)
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    o = o.mutate(month=o.order_ts.truncate("M"))
    df = src.execute(o.group_by("month").aggregate(**M.order_aggregates(o))).set_index("month")
    if src.has("events"):
        e = src.table("events")
        e = e.filter((e.event_ts >= lo) & (e.event_ts < hi))
        e = e.mutate(month=e.event_ts.truncate("M"))
        uv = src.execute(e.group_by("month").aggregate(uv=e.user_id.nunique())).set_index("month")
        df = df.join(uv, how="left")
    idx = pd.date_range(pd.Timestamp(start).to_period("M").start_time, pd.Timestamp(end), freq="MS")
    df.index = pd.to_datetime(df.index).astype("datetime64[ns]")
    df = df.reindex(idx).fillna(0.0).astype(float)
    df.index.name = "month"
    return M.add_ratios(df)


def promo_days(src: DataSource, months: pd.DatetimeIndex) -> pd.Series:
    """Campaign days per month from the ``campaigns`` table (start_date..end_date)."""
    c = src.execute(src.table("campaigns").select("start_date", "end_date"))
    days = pd.Series(0.0, index=months)
    for s, e in zip(pd.to_datetime(c.start_date), pd.to_datetime(c.end_date), strict=True):
        for d in pd.date_range(s, e, freq="D"):
            m = d.to_period("M").start_time
            if m in days.index:
                days[m] += 1
    return days


@dataclass
class Forecast:
    """A forecast: per month ``mean``, ``median`` and the interval ``ci_low``..``ci_high``
    (``level``), the simulated paths (``paths``: simulations x months) and the model used."""

    table: pd.DataFrame
    paths: np.ndarray
    level: float
    model: str
    trend_per_month: float | None = None  # slope of log GMV at the end of the history


def forecast(
    y: pd.Series,
    horizon: int,
    seasonal: bool = True,
    promo: pd.Series | None = None,
    promo_future: pd.Series | None = None,
    level: float = 0.8,
    n_sims: int = 2000,
    seed: int = 0,
) -> Forecast:
    """Forecast a positive monthly series ``horizon`` months ahead (see the module docstring)."""
    y = y.astype(float)
    if (y <= 0).any():
        raise DataError(
            f"forecast: the monthly series has {(y <= 0).sum()} months with no GMV; cannot model its log"
        )
    if seasonal and len(y) < 24:
        raise DataError(
            f"forecast: a seasonal model needs two full seasons (24 months) of history, got {len(y)}"
        )
    if len(y) < 6:
        raise DataError(f"forecast: need at least 6 months of history, got {len(y)}")
    ly = np.log(y.to_numpy())
    idx = pd.date_range(y.index[-1] + pd.offsets.MonthBegin(1), periods=horizon, freq="MS")
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    exog = promo.to_numpy(float) if promo is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the backtest is the check
        mod = UnobservedComponents(
            ly, level="local linear trend", seasonal=12 if seasonal else None, exog=exog
        )
        res = mod.fit(disp=False, maxiter=1000)
        fut = promo_future.to_numpy(float).reshape(-1, 1) if promo is not None else None
        sims = res.simulate(
            horizon, repetitions=n_sims, anchor="end", exog=fut, rng=np.random.default_rng(seed)
        )
    sims = np.asarray(sims).reshape(horizon, n_sims).T
    model = (
        "UnobservedComponents on log GMV: local linear trend"
        + (", monthly seasonality" if seasonal else "")
        + (", campaign days per month as a regressor" if promo is not None else "")
    )
    slope = float(res.smoothed_state[1, -1])
    paths = np.exp(sims)
    a = (1 - level) / 2
    table = pd.DataFrame(
        {
            "mean": paths.mean(axis=0),
            "median": np.median(paths, axis=0),
            "ci_low": np.quantile(paths, a, axis=0),
            "ci_high": np.quantile(paths, 1 - a, axis=0),
        },
        index=idx,
    )
    table.index.name = "month"
    return Forecast(table, paths, level, model, slope)


def target_months(year: int) -> pd.DatetimeIndex:
    """The twelve month starts of ``year``."""
    return pd.date_range(f"{year}-01-01", f"{year}-12-01", freq="MS")


def baseline_forecast(
    src: DataSource,
    hist: pd.DataFrame,
    year: int,
    seasonal: bool,
    promo_calendar: bool,
    level: float,
) -> Forecast:
    """The baseline: monthly GMV of ``hist`` forecast through the end of ``year``. With a promo
    calendar the future campaign days repeat the last twelve months' month by month (the report
    says so): the plan of next year's campaigns is rarely in the data when targets are set."""
    horizon = len(
        pd.date_range(hist.index[-1] + pd.offsets.MonthBegin(1), f"{year}-12-01", freq="MS")
    )
    promo = promo_future = None
    if promo_calendar:
        promo = promo_days(src, hist.index)
        promo_future = pd.Series(np.resize(promo.iloc[-12:].to_numpy(), horizon))
    return forecast(
        hist["gmv"], horizon, seasonal=seasonal, promo=promo, promo_future=promo_future, level=level
    )


def last_order_day(src: DataSource) -> pd.Timestamp | None:
    """The day of the last order in the data (``None`` without orders)."""
    last = src.execute(src.table("orders").order_ts.max())
    return None if pd.isna(last) else pd.Timestamp(last).normalize()


def actuals(src: DataSource, months: pd.DatetimeIndex) -> pd.Series:
    """GMV of the target year's **complete** months the data already holds (a check of the
    forecast); months without orders, and a month the data ends inside, are missing, not zero
    or a partial figure that would read as a crash."""
    end = (months[-1] + pd.offsets.MonthEnd(0)).date()
    gmv = monthly_history(src, months[0].date(), end)["gmv"].reindex(months)
    last = last_order_day(src)
    complete = (months + pd.offsets.MonthEnd(0)) <= (last if last is not None else months[0])
    return gmv.where((gmv > 0) & complete)


def allocate(total: float, weights: pd.Series) -> pd.Series:
    """Split ``total`` by ``weights`` into amounts in cents that sum exactly to ``total``
    (largest-remainder rounding)."""
    if total <= 0:
        raise ValueError(f"the total to allocate must be positive, got {total}")
    w = weights.astype(float).clip(lower=0)
    if w.sum() <= 0:
        raise ValueError("allocation weights are all zero")
    cents = int(round(total * 100))
    raw = w / w.sum() * cents
    floor = np.floor(raw).astype(np.int64)
    short = cents - int(floor.sum())
    order = np.argsort(-(raw - floor).to_numpy(), kind="stable")
    floor.iloc[order[:short]] += 1
    return floor / 100


def shares_last_12(src: DataSource, end, by: str) -> pd.Series:
    """Share of valid-order GMV by ``channel`` (orders) or ``category`` (order items x products)
    over the twelve months up to ``end``."""
    lo, hi = as_date_bounds(
        (pd.Timestamp(end) - pd.DateOffset(months=12) + pd.Timedelta(days=1)).date(), end
    )
    o = M.valid_orders(src.table("orders"))
    o = o.filter((o.order_ts >= lo) & (o.order_ts < hi))
    if by == "channel":
        s = src.execute(o.group_by("channel").aggregate(gmv=o.gmv.sum())).set_index("channel")[
            "gmv"
        ]
    else:
        it = src.table("order_items")
        p = src.table("products").select("sku", "category")
        j = it.join(o.select("order_id"), "order_id").join(p, "sku")
        s = src.execute(
            j.group_by("category").aggregate(gmv=(j.quantity * j.unit_price).sum())
        ).set_index("category")["gmv"]
    s = s.astype(float)
    return (s / s.sum()).sort_values(ascending=False)


def year_totals(fc: Forecast, months: pd.DatetimeIndex) -> np.ndarray:
    """The simulated totals over ``months``, one per path: the one set of draws the interval, the
    central figure, P(reach target) and the scenarios all come from."""
    return month_draws(fc, months).sum(axis=1)


@dataclass(frozen=True)
class Feasibility:
    """Whether the baseline forecast reaches ``target``, from the simulated totals of the year.

    The forecast of a year's GMV is skewed to the right (log-normal paths), so its mean lies above
    its median: on the CDNOW example the mean is $1.29M and the median $0.69M against a $1.2M
    target. The central figure shown is the **median** (``baseline``): half of the simulated
    years end below it, so ``p_reach`` is below 50% exactly when the target is above it, and the
    card cannot show a baseline above the target beside a probability of reaching it below one
    half. The mean is kept (``mean``) and stated as such where shown."""

    target: float
    baseline: float  # median of the simulated totals
    mean: float
    ci_low: float
    ci_high: float
    level: float
    p_reach: float
    n_sims: int

    @property
    def required_uplift(self) -> float:
        """The target against the baseline median: target / baseline - 1."""
        return self.target / self.baseline - 1

    @property
    def gap(self) -> float:
        """What the target asks beyond the baseline median (money; negative when it is below)."""
        return self.target - self.baseline


def feasibility(fc: Forecast, target: float, months: pd.DatetimeIndex) -> Feasibility:
    """Probability that the forecast total over ``months`` reaches ``target``, its median, mean and
    interval, all from the same simulated paths."""
    totals = year_totals(fc, months)
    a = (1 - fc.level) / 2
    return Feasibility(
        target=float(target),
        baseline=float(np.median(totals)),
        mean=float(totals.mean()),
        ci_low=float(np.quantile(totals, a)),
        ci_high=float(np.quantile(totals, 1 - a)),
        level=fc.level,
        p_reach=float((totals >= target).mean()),
        n_sims=len(totals),
    )


def month_draws(fc: Forecast, months: pd.DatetimeIndex) -> np.ndarray:
    """The simulated GMV of ``months`` (simulations x months), from the forecast's paths."""
    sel = fc.table.index.isin(months)
    if sel.sum() != len(months):
        raise DataError(
            f"forecast: {len(months) - sel.sum()} target months are not in the forecast"
        )
    return fc.paths[:, sel]


@dataclass(frozen=True)
class MonthlySplit:
    """The monthly targets (``amounts``, in cents, summing exactly to the target) and the common
    quantile ``quantile`` of each month's forecast they sit at (so ``1 - quantile`` is every
    month's chance of reaching its own target on the baseline). ``above_band`` and
    ``below_band`` list the months whose target lies outside the forecast's interval (only when
    the year's target asks more, or less, than the band allows)."""

    amounts: pd.Series
    quantile: float
    above_band: tuple[pd.Timestamp, ...]
    below_band: tuple[pd.Timestamp, ...]


def monthly_split(fc: Forecast, months: pd.DatetimeIndex, target: float) -> MonthlySplit:
    """Split ``target`` over ``months`` at one common quantile q of every month's simulated GMV,
    q chosen (bisection) so that the months' q-quantiles add up to the target. Why: splitting by
    the median path's shares scales every month by the same factor, which puts early months,
    whose forecast is narrow, above their interval (targets 2026: January at ¥95,744 against an
    80% upper bound of ¥87,701) while late, uncertain months stay easy; one quantile makes each
    month equally hard by the forecast and keeps the seasonal shape. Beyond the quantiles the
    draws resolve (0.1% and 99.9%) the months are scaled alike and the report says which months
    lie outside the band."""
    draws = month_draws(fc, months)

    def at(q: float) -> np.ndarray:
        return np.quantile(draws, q, axis=0)

    lo, hi = 0.001, 0.999
    if at(lo).sum() >= target:
        q = lo
    elif at(hi).sum() <= target:
        q = hi
    else:
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if at(mid).sum() < target else (lo, mid)
        q = (lo + hi) / 2
    amounts = allocate(target, pd.Series(at(q), index=months))
    band = fc.table.loc[months]
    return MonthlySplit(
        amounts=amounts,
        quantile=float(q),
        above_band=tuple(months[(amounts > band["ci_high"]).to_numpy()]),
        below_band=tuple(months[(amounts < band["ci_low"]).to_numpy()]),
    )


@dataclass(frozen=True)
class YearToDate:
    """The target year's complete months the data already holds (``months``, from ``start`` to
    ``end``): their ``actual`` GMV, the monthly ``target`` over the same months, and the baseline
    forecast over them (``forecast``: median of the simulated sums; ``ci_low``..``ci_high`` at
    ``level``), all from the same draws as the year's figures. ``rest_target`` is what the
    remaining months need (annual target - actual), ``rest_forecast`` the forecast median of
    those months. The forecast was fitted on the history only: it does not know these months.

    How the year ends with what is already in: the actual plus each simulated path of the
    remaining months (``outlook``: its median, = actual + ``rest_forecast``; ``outlook_lo``..
    ``outlook_hi`` at ``level``), and ``p_reach``, the share of those paths at or above the
    annual target: the probability of reaching it now, where the feasibility's ``p_reach`` is
    the forecast's alone (as if none of the year were known)."""

    months: int
    start: pd.Timestamp
    end: pd.Timestamp
    actual: float
    target: float
    forecast: float
    ci_low: float
    ci_high: float
    level: float
    rest_months: int
    rest_target: float
    rest_forecast: float
    p_reach: float
    outlook: float
    outlook_lo: float
    outlook_hi: float
    n_sims: int

    @property
    def vs_target(self) -> float:
        """Actual against the target to date: actual / target - 1."""
        return self.actual / self.target - 1

    @property
    def vs_forecast(self) -> float:
        """Actual against the forecast median to date: actual / forecast - 1."""
        return self.actual / self.forecast - 1

    @property
    def share_of_year(self) -> float:
        """The part of the annual target already reached: actual / annual target."""
        return self.actual / (self.actual + self.rest_target)


def year_to_date(
    fc: Forecast, months: pd.DatetimeIndex, monthly: pd.Series, actual: pd.Series, target: float
) -> YearToDate | None:
    """The year so far: the complete months of ``months`` with an ``actual`` from the first one on
    without a gap (``None`` when the data holds none)."""
    have = actual.reindex(months).notna().to_numpy()
    n = int(np.argmin(have)) if not have.all() else len(months)
    if n == 0:
        return None
    done, rest = months[:n], months[n:]
    sums = month_draws(fc, done).sum(axis=1)
    a = (1 - fc.level) / 2
    got = float(actual.loc[done].sum())
    # the year's end on each path: the actual so far plus that path's remaining months
    ends = got + (month_draws(fc, rest).sum(axis=1) if len(rest) else np.zeros(len(sums)))
    return YearToDate(
        months=n,
        start=done[0],
        end=done[-1],
        actual=got,
        target=float(monthly.loc[done].sum()),
        forecast=float(np.median(sums)),
        ci_low=float(np.quantile(sums, a)),
        ci_high=float(np.quantile(sums, 1 - a)),
        level=fc.level,
        rest_months=len(rest),
        rest_target=float(target) - got,
        rest_forecast=float(np.median(month_draws(fc, rest).sum(axis=1))) if len(rest) else 0.0,
        p_reach=float((ends >= target).mean()),
        outlook=float(np.median(ends)),
        outlook_lo=float(np.quantile(ends, a)),
        outlook_hi=float(np.quantile(ends, 1 - a)),
        n_sims=len(ends),
    )


DriverKey = Literal["uv", "conversion_rate", "orders_per_buyer", "aov", "orders"]


@dataclass(frozen=True)
class Driver:
    """One factor of the driver tree: its value over the base (``base``) and what it must become,
    alone, for GMV to reach the target with the others held at the base (``needed``)."""

    key: DriverKey
    base: float
    needed: float

    @property
    def change(self) -> float:
        return self.needed - self.base

    @property
    def change_rel(self) -> float:
        return self.needed / self.base - 1


@dataclass(frozen=True)
class DriverTree:
    """GMV = UV x conversion rate x orders per buyer x AOV (or orders x AOV without events), from
    the stated base: the last ``base_months`` months of the history (``base_gmv``; annualised when
    the history holds fewer than twelve). The product of the drivers' base values is ``base_gmv``
    exactly, and each driver alone must scale by ``target / base_gmv`` (``uplift_on_base``).

    How the base relates to the baseline forecast: (1 + ``uplift_on_base``) = (1 +
    ``baseline_change``) x (1 + ``gap``), where ``baseline_change`` is what the forecast median
    expects against the base and ``gap`` what the target asks beyond the forecast (the
    feasibility's ``required_uplift``). An earlier version applied ``gap`` to the base values while
    calling them the last twelve months (on the sample shop +22% instead of +104%)."""

    base_months: int
    base_start: pd.Timestamp
    base_end: pd.Timestamp
    base_gmv: float
    target: float
    baseline: float
    drivers: tuple[Driver, ...]

    @property
    def uplift_on_base(self) -> float:
        return self.target / self.base_gmv - 1

    @property
    def baseline_change(self) -> float:
        return self.baseline / self.base_gmv - 1

    @property
    def gap(self) -> float:
        return self.target / self.baseline - 1

    def spread(self) -> float:
        """The change each driver needs beyond its baseline path when all share the gap evenly:
        (1 + gap) ** (1 / number of drivers) - 1 (the drivers multiply)."""
        return (1 + self.gap) ** (1 / len(self.drivers)) - 1

    def shared_on_base(self) -> float:
        """The same even share on the tree's own base, the last twelve months: (1 +
        uplift_on_base) ** (1 / n) - 1 = (1 + the baseline's change, shared evenly) x (1 +
        :meth:`spread`) - 1. The forecast does not say which driver its change comes from; shared
        evenly is the one assumption that makes the action (beyond the forecast) and the tree
        (on the base) the same plan."""
        return (1 + self.uplift_on_base) ** (1 / len(self.drivers)) - 1

    def baseline_shared(self) -> float:
        """The baseline forecast's change on the base, shared evenly by the drivers."""
        return (1 + self.baseline_change) ** (1 / len(self.drivers)) - 1

    def shared_levels(self) -> tuple[float, ...]:
        """Each driver's level on the base when all share the target evenly."""
        f = 1 + self.shared_on_base()
        return tuple(d.base * f for d in self.drivers)


def driver_tree(hist: pd.DataFrame, target: float, baseline: float) -> DriverTree:
    """The driver tree from the last twelve months of ``hist`` (monthly ``gmv``, ``orders``,
    ``buyers`` and, with events, ``uv``) to ``target``; ``baseline`` is the forecast median.
    Visitors and buyers are counted per month and summed (a buyer of two months counts twice), so
    that UV x conversion x orders per buyer x AOV is GMV exactly."""
    last = hist.iloc[-12:]
    n = len(last)
    scale = 12 / n  # counts annualised when the history is shorter than a year
    gmv, orders = float(last["gmv"].sum()), float(last["orders"].sum())
    if gmv <= 0 or orders <= 0:
        raise DataError("driver tree: no GMV in the last twelve months of the history")
    aov = float(M.aov(gmv, orders))
    if "uv" in last and float(last["uv"].sum()) > 0 and float(last["buyers"].sum()) > 0:
        uv, buyers = float(last["uv"].sum()), float(last["buyers"].sum())
        base = {
            "uv": uv * scale,
            "conversion_rate": float(M.conversion_rate(buyers, uv)),
            "orders_per_buyer": float(M.orders_per_buyer(orders, buyers)),
            "aov": aov,
        }
    else:
        base = {"orders": orders * scale, "aov": aov}
    factor = target / (gmv * scale)
    drivers = tuple(Driver(k, v, v * factor) for k, v in base.items())  # type: ignore[arg-type]
    return DriverTree(
        base_months=n,
        base_start=last.index[0],
        base_end=last.index[-1],
        base_gmv=gmv * scale,
        target=float(target),
        baseline=float(baseline),
        drivers=drivers,
    )


def scenarios(
    fc: Forecast, months: pd.DatetimeIndex, target: float, items: list[dict]
) -> pd.DataFrame:
    """What-if: each scenario scales the baseline by (1 + uv)(1 + conversion)(1 + aov); its median
    total (the central figure of the report), against the target, and the probability of
    reaching it, from the same simulated totals."""
    totals = year_totals(fc, months)
    rows = []
    for s in items:
        f = (1 + s.get("uv", 0.0)) * (1 + s.get("conversion", 0.0)) * (1 + s.get("aov", 0.0))
        gmv = float(np.median(totals * f))
        rows.append(
            {
                "scenario": s["name"],
                "factor": f,
                "gmv": gmv,
                "vs_target": gmv / target - 1,
                "p_reach_target": float((totals * f >= target).mean()),
            }
        )
    return pd.DataFrame(rows, columns=["scenario", "factor", "gmv", "vs_target", "p_reach_target"])


def backtest_coverage(
    y: pd.Series, min_train: int, seasonal: bool, level: float = 0.8
) -> pd.DataFrame:
    """Rolling-origin one-step-ahead backtest: for each origin, fit on the months before it and
    check whether the held-out month falls in the ``level`` interval."""
    rows = []
    for t in range(min_train, len(y)):
        fc = forecast(y.iloc[:t], 1, seasonal=seasonal, level=level, n_sims=1000, seed=t)
        r = fc.table.iloc[0]
        rows.append(
            {
                "month": y.index[t],
                "actual": y.iloc[t],
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "covered": bool(r.ci_low <= y.iloc[t] <= r.ci_high),
            }
        )
    return pd.DataFrame(rows)


def targets_table(
    year: int,
    monthly: pd.Series,
    by_channel: pd.Series | None,
    by_category: pd.Series | None,
    owners: dict[str, str],
    resources: str = "",
) -> pd.DataFrame:
    """The SMART targets as the canonical ``targets`` table (period, metric, target_value,
    dimension, dimension_value, owner) plus ``deadline`` and ``resources``: the annual GMV target,
    one row per month, and the year's split by channel and by category."""
    owner = owners.get("gmv", "")
    rows = [
        {
            "period": str(year),
            "metric": "gmv",
            "target_value": float(monthly.sum()),
            "dimension": None,
            "dimension_value": None,
            "owner": owner,
            "deadline": f"{year}-12-31",
        }
    ]
    for m, v in monthly.items():
        end = (pd.Timestamp(m) + pd.offsets.MonthEnd(0)).date()
        rows.append(
            {
                "period": pd.Timestamp(m).strftime("%Y-%m"),
                "metric": "gmv",
                "target_value": float(v),
                "dimension": None,
                "dimension_value": None,
                "owner": owner,
                "deadline": str(end),
            }
        )
    for dim, alloc in (("channel", by_channel), ("category", by_category)):
        if alloc is None:
            continue
        for k, v in alloc.items():
            rows.append(
                {
                    "period": str(year),
                    "metric": "gmv",
                    "target_value": float(v),
                    "dimension": dim,
                    "dimension_value": str(k),
                    "owner": owners.get(dim, owner),
                    "deadline": f"{year}-12-31",
                }
            )
    df = pd.DataFrame(rows)
    df["resources"] = resources
    return df


def write_targets(df: pd.DataFrame, path: str) -> None:
    """Write the targets table as Parquet (whole, then renamed into place)."""
    import os
    from pathlib import Path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, p)


@dataclass(frozen=True)
class TargetPlan:
    """Everything the target report shows, computed once: the monthly ``history``, the target
    ``year`` and its ``months``, the baseline ``forecast`` (``seasonal``, ``promo`` say what it
    models), its ``feasibility`` against ``target``, the driver ``tree``, the ``monthly``,
    ``by_channel`` and ``by_category`` splits of the target (``None`` without the columns), the
    what-if ``scenarios``, the SMART ``targets`` table, the ``actual`` GMV of the target year's
    complete months the data already holds, the monthly ``split`` (its quantile and the months
    outside the band) and the year so far (``ytd``, ``None`` without actuals)."""

    year: int
    target: float
    history: pd.DataFrame
    months: pd.DatetimeIndex
    forecast: Forecast
    seasonal: bool
    promo: bool
    feasibility: Feasibility
    tree: DriverTree
    monthly: pd.Series
    by_channel: pd.Series | None
    by_category: pd.Series | None
    scenarios: pd.DataFrame
    targets: pd.DataFrame
    actual: pd.Series
    split: MonthlySplit
    ytd: YearToDate | None


def plan(
    src: DataSource,
    start,
    end,
    year: int,
    target: float,
    *,
    seasonal: bool = True,
    promo_calendar: bool = False,
    level: float = 0.8,
    what_if: list[dict] | None = None,
    owners: dict[str, str] | None = None,
    resources: str = "",
) -> TargetPlan:
    """The whole target plan for ``year`` from the history ``start``..``end`` (see
    :class:`TargetPlan`)."""
    hist = monthly_history(src, start, end)
    months = target_months(year)
    fc = baseline_forecast(src, hist, year, seasonal, promo_calendar, level)
    feas = feasibility(fc, target, months)
    orders_cols = src.table("orders").columns
    by_channel = (
        allocate(target, shares_last_12(src, end, "channel")) if "channel" in orders_cols else None
    )
    by_category = (
        allocate(target, shares_last_12(src, end, "category"))
        if src.has("order_items") and src.has("products")
        else None
    )
    # months at one quantile of their own forecast (see monthly_split): not the mean path, which
    # rises with the spread alone (CDNOW), nor the median path's shares, which put the narrow
    # early months above their band
    split = monthly_split(fc, months, target)
    monthly = split.amounts
    actual = actuals(src, months)
    return TargetPlan(
        year=year,
        target=float(target),
        history=hist,
        months=months,
        forecast=fc,
        seasonal=seasonal,
        promo=promo_calendar,
        feasibility=feas,
        tree=driver_tree(hist, target, feas.baseline),
        monthly=monthly,
        by_channel=by_channel,
        by_category=by_category,
        scenarios=scenarios(fc, months, target, what_if or []),
        targets=targets_table(year, monthly, by_channel, by_category, owners or {}, resources),
        actual=actual,
        split=split,
        ytd=year_to_date(fc, months, monthly, actual, target),
    )
