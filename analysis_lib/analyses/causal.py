"""Counterfactual impact of an intervention on a time series: R CausalImpact's default model and
summary, sampled by :mod:`analysis_lib.analyses.bsts`.

- The series and the controls are standardised on the pre-period (as R does); the model is a
  local level, optional seasonality and a static spike-and-slab regression on the controls, with
  R's priors; 1,000 MCMC iterations, the first 10% discarded.
- The counterfactual of the post-period is the posterior predictive: per draw, the states the
  sampler drew for the post-period (given the pre-period only) plus the regression on the
  controls plus observation noise. Pointwise, cumulative and relative effects and their
  intervals are quantiles over those draws (never sums of pointwise bounds); the point estimates
  use the draws' means without noise, as R does.
- The posterior probability of a causal effect is 1 - p, with p R's one-sided posterior
  tail-area probability of the summed counterfactual against the summed actual. It is a Bayesian
  posterior probability under the model, not a p-value.
- Missing days in the pre-period are skipped by the Kalman filter; any spacing of points works
  (daily, weekly, by position).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis_lib.analyses import bsts
from analysis_lib.errors import DataError

# R's default prior.level.sd and the "safer option" its documentation names for series whose level
# moves more (CausalImpact ``model.args``)
R_LEVEL_SDS = (0.01, 0.1)
STRONG_EVIDENCE = float(np.log(20))  # a Bayes factor of 20: "strong" on Kass & Raftery's scale


def _log_sd_prior(sd: np.ndarray, guess: float, sample_size: float, upper: float) -> np.ndarray:
    """Log density of log(sd) under bsts' ``SdPrior(guess, sample_size, upper.limit = upper)``:
    the precision 1/sd^2 is Gamma(sample_size / 2, rate sample_size * guess^2 / 2), truncated to
    sd <= upper (renormalised by the mass it keeps); d(precision) / d(log sd) = 2 / sd^2."""
    from scipy import special

    shape, rate = sample_size / 2.0, sample_size * guess**2 / 2.0
    prec = 1.0 / sd**2
    lp = shape * np.log(rate) - special.gammaln(shape) + (shape - 1) * np.log(prec) - rate * prec
    lp = lp + np.log(2.0 * prec) - np.log(special.gammaincc(shape, rate / upper**2))
    return np.where(sd <= upper, lp, -np.inf)


# the Bayes factor's grid: uniform in log(level variance / observation variance), one Kalman
# filter per point, and in log(observation sd), in closed form; steps below the priors' widths
# (log sd has a standard deviation of 0.125 under a weight of 32), ranges past the priors' mass
_BF_LEVEL_SD = (0.002, 1.0)  # 0.002 is 13 prior sds below R's 0.01; 1.0 is R's upper limit
_BF_OBS_SD = (0.005, bsts.RESIDUAL_UPPER)
_BF_LOG_Q_STEP = 0.25  # log variance ratio: 0.125 in log level sd
_BF_LOG_OBS_STEP = 0.02


def level_prior_log_bf(z_pre: np.ndarray, X_pre: np.ndarray | None, seasonal: int | None) -> float:
    """Log Bayes factor of R's safer level prior (sd 0.1 of sd(y)) against its default (0.01),
    from the pre-period alone: the marginal likelihood of the pre-period under each SdPrior
    (weight 32, at most sd(y)), the observation sd integrated under R's prior for it too
    (sqrt(1 - expected R^2) with the weight of 50 observations with controls, at most 1.2 sd(y)).

    The Kalman filter integrates the states and the coefficients (diffuse); it runs with the
    observation variance concentrated out on a grid uniform in log q, q the level variance over the
    observation variance, and gives the likelihood at any observation sd in closed form, on a grid
    uniform in log(observation sd). (log q, log obs sd) -> (log level sd, log obs sd) has a constant
    Jacobian, so both integrals are plain sums over the same grid, with each SdPrior's density of
    log sd. The seasonal variance (when there is one) is held at R's guess, 1% of the observation
    variance. Positive: the level moves more than R's default allows, and intervals under the
    default are too narrow. About 95 filters: a tenth of a second."""
    import warnings

    from scipy.special import logsumexp
    from statsmodels.tsa.statespace.kalman_filter import MEMORY_CONSERVE, MEMORY_NO_LIKELIHOOD
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    has_x = X_pre is not None and X_pre.shape[1] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = UnobservedComponents(
            z_pre,
            level="local level",
            seasonal=seasonal if seasonal and seasonal > 1 else None,
            exog=X_pre if has_x else None,
            mle_regression=False,
        )
    mod.ssm.filter_concentrated = True
    names = list(mod.param_names)
    base = np.array([1e-4 if n.startswith("sigma2.seasonal") else 1.0 for n in names])
    i = names.index("sigma2.level")
    n_eff = int(np.isfinite(z_pre).sum()) - mod.loglikelihood_burn
    (sl_lo, sl_hi), (so_lo, so_hi) = _BF_LEVEL_SD, _BF_OBS_SD
    log_q = np.arange(
        2 * (np.log(sl_lo) - np.log(so_hi)), 2 * (np.log(sl_hi) - np.log(so_lo)), _BF_LOG_Q_STEP
    )
    log_so = np.arange(np.log(so_lo), np.log(so_hi), _BF_LOG_OBS_STEP)
    llf, scale = np.empty(len(log_q)), np.empty(len(log_q))
    for j, lq in enumerate(log_q):
        p = base.copy()
        p[i] = np.exp(lq)
        mod.update(p)
        r = mod.ssm.filter(conserve_memory=MEMORY_CONSERVE ^ MEMORY_NO_LIKELIHOOD)
        llf[j], scale[j] = r.llf, r.scale
    # log L(q, s2) from the profile at the concentrated scale: Gaussian in 1/s2 with the sum of
    # squared standardised innovations n_eff * scale
    ratio = scale[:, None] / np.exp(2 * log_so)[None, :]
    ll = llf[:, None] + 0.5 * n_eff * (np.log(ratio) + 1 - ratio)
    sl = np.exp(0.5 * log_q[:, None] + log_so[None, :])
    obs_guess, obs_n = (np.sqrt(1 - bsts.EXPECTED_R2), bsts.PRIOR_DF) if has_x else (1.0, 0.01)
    ll = ll + _log_sd_prior(np.exp(log_so), obs_guess, obs_n, so_hi)[None, :]
    lo, hi = R_LEVEL_SDS
    return float(
        logsumexp(ll + _log_sd_prior(sl, hi, bsts.LEVEL_SAMPLE_SIZE, 1.0))
        - logsumexp(ll + _log_sd_prior(sl, lo, bsts.LEVEL_SAMPLE_SIZE, 1.0))
    )


@dataclass(frozen=True)
class Average:
    """An effect window per point: the sums of :class:`Effect` divided by its points."""

    actual: float
    predicted: float
    predicted_lo: float
    predicted_hi: float
    estimate: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Effect:
    """R's summary of a window of the post-period (all of it, or a campaign phase), summed over
    its ``points``: the actual, the counterfactual prediction with its interval, the absolute
    effect (``estimate``, ``ci_low``, ``ci_high``) and the relative effect with theirs, and the
    posterior tail probability ``tail_probability`` (R's p, one-sided) with
    ``posterior_prob_causal_effect`` = 1 − p. ``significant``: the two-sided interval excludes
    zero, which happens when the probability is above about 1 − alpha/2 (97.5%), so a probability
    of 90% beside an interval that includes zero is consistent, not a contradiction."""

    actual: float
    predicted: float
    predicted_lo: float
    predicted_hi: float
    predicted_sd: float
    estimate: float
    ci_low: float
    ci_high: float
    effect_sd: float
    relative: float
    relative_lo: float
    relative_hi: float
    tail_probability: float
    posterior_prob_causal_effect: float
    significant: bool
    points: int
    average: Average

    def interval(self) -> dict[str, float]:
        """``estimate``, ``ci_low``, ``ci_high``: the shape results.json records."""
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class ControlFit:
    """A control series in the regression: its mean coefficient (standardised units) and the
    share of draws that included it (spike and slab)."""

    coefficient: float
    inclusion: float


@dataclass(frozen=True)
class ModelInfo:
    """What the model was and how it fitted: posterior means of its standard deviations (in units
    of the pre-period sd of the series), each control's fit, the MCMC run, the level prior used
    and the Bayes factor of R's wider one (:func:`level_prior_log_bf`), and whether the series was
    constant before the intervention (then the figures are in the series' own units and the
    intervals reflect the priors)."""

    sigma_obs: float
    sigma_level: float
    sigma_season: float | None
    controls: dict[str, ControlFit]
    draws: int
    burn: int
    seasonal: int | None
    prior_level_sd: float
    level_prior_log_bf: float
    pre_period_constant: bool = False

    @property
    def iterations(self) -> int:
        return self.draws + self.burn


@dataclass
class Impact:
    """An impact estimate.

    Attributes:
        series: per post-period point: actual, predicted (mean), predicted_lo/hi, effect,
            effect_lo/hi, cum_effect, cum_effect_lo/hi.
        paths: posterior predictive draws of the post-period counterfactual (draws x points), in y
            units, with observation noise: intervals come from these.
        means: the same draws without observation noise: point estimates come from these.
        actual: the post-period actuals.
        summary: the whole post-period's :class:`Effect`.
        pre_fit: the pre-period: actual, predicted, predicted_lo/hi (the fit and its band).
        model: the model's :class:`ModelInfo`.
    """

    series: pd.DataFrame
    paths: np.ndarray
    actual: np.ndarray
    means: np.ndarray
    pre_fit: pd.DataFrame
    model: ModelInfo
    alpha: float = 0.05
    summary: Effect = field(init=False)

    def __post_init__(self) -> None:
        self.summary = summarise(self.actual, self.paths, self.means, self.alpha)

    def window(self, mask) -> Effect:
        """Effect summed over a subset of the post-period (e.g. one campaign phase), with its
        interval from the same posterior draws."""
        mask = np.asarray(mask, dtype=bool)
        return summarise(self.actual[mask], self.paths[:, mask], self.means[:, mask], self.alpha)


def tail_probability(sums: np.ndarray, actual_sum: float) -> float:
    """R CausalImpact's posterior tail-area probability p: the smaller share of predictive sums
    on either side of the actual sum, the actual counted among them (so p > 0)."""
    both = np.append(sums, actual_sum)
    return float(min((both >= actual_sum).sum(), (both <= actual_sum).sum()) / len(both))


def summarise(actual: np.ndarray, paths: np.ndarray, means: np.ndarray, alpha: float) -> Effect:
    """R's summary table of a window: actual, prediction, absolute and relative effect, each with
    its interval, summed and per point, and the posterior probability of a causal effect."""
    a = alpha / 2
    m = int(len(actual))
    sum_actual = float(actual.sum())
    sums = paths.sum(axis=1)
    predicted = float(means.sum(axis=1).mean())
    effect = sum_actual - sums
    est = sum_actual - predicted
    lo, hi = float(np.quantile(effect, a)), float(np.quantile(effect, 1 - a))
    p = tail_probability(sums, sum_actual)
    rel = (lambda v: v / predicted) if predicted else (lambda v: float("nan"))
    pred_lo, pred_hi = float(np.quantile(sums, a)), float(np.quantile(sums, 1 - a))
    return Effect(
        actual=sum_actual,
        predicted=predicted,
        predicted_lo=pred_lo,
        predicted_hi=pred_hi,
        predicted_sd=float(sums.std(ddof=1)),
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        effect_sd=float(effect.std(ddof=1)),
        relative=rel(est),
        relative_lo=rel(lo),
        relative_hi=rel(hi),
        tail_probability=p,
        posterior_prob_causal_effect=1.0 - p,
        significant=bool(lo > 0 or hi < 0),
        points=m,
        average=Average(
            sum_actual / m, predicted / m, pred_lo / m, pred_hi / m, est / m, lo / m, hi / m
        ),
    )


def _standardise(df, pre_mask):
    mu = df[pre_mask].mean()
    sd = df[pre_mask].std(ddof=1)
    return mu, sd


def estimate(
    y: pd.Series,
    post_start,
    controls: pd.DataFrame | None = None,
    seasonal: int | None = None,
    alpha: float = 0.05,
    niter: int = 1000,
    seed: int = 0,
    post_end=None,
    prior_level_sd: float | str = R_LEVEL_SDS[0],
) -> Impact:
    """Impact of an intervention at ``post_start`` (the first post-period index label) on ``y``;
    ``controls`` share ``y``'s index; ``seasonal`` is the number of points per season (7 for a
    weekly pattern in daily data); ``niter`` MCMC iterations (R's default 1,000). Seeded: the same
    inputs and ``seed`` give the same figures.

    ``prior_level_sd``: R's ``prior.level.sd`` (default 0.01, R's default, which reproduces R);
    ``"auto"`` takes R's safer 0.1 where the pre-period's Bayes factor favours it
    (:func:`level_prior_log_bf`, computed and reported either way)."""
    y = y.astype(float)
    if not y.index.is_monotonic_increasing:
        raise DataError("impact: the series is not in time order")
    pre_mask = np.asarray(y.index < post_start)
    post_mask = ~pre_mask if post_end is None else (~pre_mask) & np.asarray(y.index <= post_end)
    keep = pre_mask | post_mask
    n_pre, n_post = int(pre_mask.sum()), int(post_mask.sum())
    n_obs = int(y[pre_mask].notna().sum())
    if n_obs < 3 or n_post < 1:
        raise DataError(
            f"impact: need a pre-period and a post-period, got {n_obs} observed pre-period "
            f"and {n_post} post-period points"
        )
    if seasonal and n_pre < 2 * seasonal:
        raise DataError(
            f"impact: a seasonality of {seasonal} needs at least {2 * seasonal} pre-period points, got {n_pre}"
        )
    if y[post_mask].isna().any():
        raise DataError(
            f"impact: the post-period has {int(y[post_mask].isna().sum())} missing value(s); "
            "the effect needs every post-period point"
        )
    mu, sd = _standardise(y, pre_mask)
    constant = not sd > 0
    if constant:
        # R aborts here; a report goes on (a new shop's GMV can be flat before a campaign):
        # the series is taken in its own units, so the priors speak of units of y, and the
        # summary says so (``pre_period_constant``)
        sd = 1.0
    y = y[keep]
    z = ((y - mu) / sd).to_numpy()
    Xz = None
    names: list[str] = []
    if controls is not None and controls.shape[1]:
        c = controls.astype(float)[keep]
        if c.isna().any().any():
            raise DataError("impact: the control series have missing values")
        cm, cs = _standardise(c, pre_mask[keep])
        Xz = ((c - cm) / cs.replace(0, 1.0).fillna(1.0)).to_numpy()
        names = [str(n) for n in c.columns]
    log_bf = level_prior_log_bf(z[:n_pre], None if Xz is None else Xz[:n_pre], seasonal)
    if prior_level_sd == "auto":
        prior_level_sd = R_LEVEL_SDS[1] if log_bf > 0 else R_LEVEL_SDS[0]
    prior_level_sd = float(prior_level_sd)
    draws = bsts.sample(z, n_pre, Xz, seasonal, niter, seed, prior_level_sd)
    noise_rng = np.random.default_rng([seed, 1])
    yd = draws.predictive(noise_rng) * sd + mu
    sig = draws.signal * sd + mu
    paths, means = yd[:, n_pre:], sig[:, n_pre:]
    actual = y.to_numpy()[n_pre:]
    a = alpha / 2
    eff = actual[None, :] - paths
    cum = eff.cumsum(axis=1)
    predicted = means.mean(axis=0)
    series = pd.DataFrame(
        {
            "actual": actual,
            "predicted": predicted,
            "predicted_lo": np.quantile(paths, a, axis=0),
            "predicted_hi": np.quantile(paths, 1 - a, axis=0),
            "effect": actual - predicted,
            "effect_lo": np.quantile(eff, a, axis=0),
            "effect_hi": np.quantile(eff, 1 - a, axis=0),
            "cum_effect": (actual - predicted).cumsum(),
            "cum_effect_lo": np.quantile(cum, a, axis=0),
            "cum_effect_hi": np.quantile(cum, 1 - a, axis=0),
        },
        index=y.index[n_pre:],
    )
    pre_fit = pd.DataFrame(
        {
            "actual": y.to_numpy()[:n_pre],
            "predicted": sig[:, :n_pre].mean(axis=0),
            "predicted_lo": np.quantile(yd[:, :n_pre], a, axis=0),
            "predicted_hi": np.quantile(yd[:, :n_pre], 1 - a, axis=0),
        },
        index=y.index[:n_pre],
    )
    model = ModelInfo(
        sigma_obs=float(draws.sigma_obs.mean()),
        sigma_level=float(draws.sigma_level.mean()),
        sigma_season=None if draws.sigma_season is None else float(draws.sigma_season.mean()),
        controls={
            n: ControlFit(float(draws.beta[:, j].mean()), float((draws.beta[:, j] != 0).mean()))
            for j, n in enumerate(names)
        },
        draws=int(len(draws.sigma_obs)),
        burn=draws.burn,
        seasonal=seasonal,
        prior_level_sd=prior_level_sd,
        level_prior_log_bf=log_bf,
        pre_period_constant=constant,
    )
    return Impact(series, paths, actual, means, pre_fit, model, alpha)


@dataclass(frozen=True)
class Placebo:
    """The placebo check: the model on a fake intervention inside the pre-period. ``effect`` is
    its estimate when it could be fitted; otherwise ``available`` is false and ``reason`` (for
    results.json) says why."""

    fake_date: str
    available: bool
    effect: Effect | None = None
    reason: str = ""

    @property
    def covers_zero(self) -> bool | None:
        """Whether the fake date's interval includes zero (as it should); None when unavailable."""
        if self.effect is None:
            return None
        return bool(self.effect.ci_low <= 0 <= self.effect.ci_high)

    def figures(self) -> dict:
        """The check as results.json records it."""
        if self.effect is None:
            return {
                "fake_date": self.fake_date,
                "available": False,
                "reason": self.reason,
                "covers_zero": None,
            }
        e = self.effect
        return {
            "fake_date": self.fake_date,
            "available": True,
            "estimate": e.estimate,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "relative": e.relative,
            "posterior_prob_causal_effect": e.posterior_prob_causal_effect,
            "covers_zero": self.covers_zero,
        }


def placebo(
    y: pd.Series,
    post_start,
    controls: pd.DataFrame | None = None,
    seasonal: int | None = None,
    alpha: float = 0.05,
    seed: int = 1,
    niter: int = 1000,
    prior_level_sd: float | str = R_LEVEL_SDS[0],
) -> Placebo:
    """The same model on a fake intervention inside the pre-period (at two thirds of it), using
    only pre-period data: a sound model finds no effect there. The fake post-period ends where
    the real pre-period does. Where the pre-period cannot carry a second fit (too short, flat
    before the fake date) the check is marked unavailable with the reason instead of failing the
    report."""
    pre = np.asarray(y.index < post_start)
    yp = y[pre]
    fake = yp.index[int(len(yp) * 2 / 3)]
    cp = controls[pre] if controls is not None else None
    try:
        r = estimate(
            yp, fake, cp, seasonal, alpha, niter=niter, seed=seed, prior_level_sd=prior_level_sd
        )
    except DataError as exc:  # too short a pre-period for a second fit: say so, do not fail
        return Placebo(str(fake), False, reason=str(exc))
    if r.model.pre_period_constant:
        return Placebo(str(fake), False, reason="the series is constant before the fake date")
    return Placebo(str(fake), True, r.summary)


def read_series(
    path: str, date_column: str | None, y: str, controls: list[str], sep: str | None = None
) -> tuple[pd.Series, pd.DataFrame]:
    """A KPI series and its controls from a CSV (``sep`` None sniffs commas or spaces; quoted
    headers are fine) or Parquet file, indexed by date (or by position without a date column)."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: series file not found")
    if p.suffix == ".parquet":
        df = pd.read_parquet(p)
    else:
        df = pd.read_csv(p, sep=sep or None, engine="python")
    missing = [
        c for c in [*([date_column] if date_column else []), y, *controls] if c not in df.columns
    ]
    if missing:
        raise DataError(
            f"{p}: no column '{missing[0]}' (columns: {', '.join(map(str, df.columns))})"
        )
    if date_column:
        try:
            df.index = pd.to_datetime(df[date_column])
        except (ValueError, TypeError) as exc:
            raise DataError(f"{p}: column '{date_column}' holds values that are not dates") from exc
        df = df.sort_index()
    for c in [y, *controls]:
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise DataError(f"{p}: column '{c}' is not numeric")
    for c in controls:
        if df[c].isna().any():
            raise DataError(
                f"{p}: control column '{c}' has {int(df[c].isna().sum())} missing value(s) "
                f"(a control series must be complete)"
            )
    return df[y].astype(float), df[controls].astype(float)
