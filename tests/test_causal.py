"""The counterfactual engine: R CausalImpact's figures on its public reference series, interval
coverage over simulated series with known effects, seeded reruns, missing days, the conjugate
draws, spike-and-slab selection, a placebo date, bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis_lib.analyses import bsts
from analysis_lib.analyses import causal as CI
from analysis_lib.errors import DataError

REF = Path(__file__).resolve().parent.parent / "analysis_lib" / "datasets" / "causalimpact"

# R CausalImpact 1.x with its defaults, summary(impact): cumulative absolute effect and its 95%
# interval, posterior tail-area probability p (issue 18; the R outputs published with the
# reference series in WillianFuks/tfcausalimpact, notebooks/R/*/summary.txt)
R_FIGURES = {
    "arma": (26.67, 7.99, 44.4, 0.00301),
    "google": (804, 539, 1073, 0.001),
    "volks": (-3496, -4338, -2571, 0.00106),
    "comparison": (-11831, -37371, 14971, 0.20061),
}
CASES = {
    "arma": ("arma_data.csv", None, "y", ["X"], 70),
    "google": ("google_data.csv", "date", "y", ["x1", "x2"], pd.Timestamp("2020-03-02")),
    "volks": (
        "volks_data.csv",
        "Date",
        "VolksWagen",
        ["BMW", "Allianz"],
        pd.Timestamp("2015-09-20"),
    ),
    "comparison": (
        "comparison_data.csv",
        "DATE",
        "CHANGED",
        ["NOT_CHANGED_1", "NOT_CHANGED_2", "NOT_CHANGED_3"],
        pd.Timestamp("2019-07-15"),
    ),
}


def _reference(name):
    file, date, y, xs, t = CASES[name]
    s, X = CI.read_series(str(REF / file), date, y, xs)
    return s, X, t


def _series(rng, effect: float, level_sd: float = 0.05, T: int = 100, T0: int = 70):
    x = 100 + np.cumsum(rng.normal(0, 1, T))
    y = 1.2 * x + np.cumsum(rng.normal(0, level_sd, T)) + rng.normal(0, 1, T)
    y[T0:] += effect
    return pd.Series(y), pd.DataFrame({"x": x})


@pytest.mark.parametrize("name", list(R_FIGURES))
def test_reference_series_agree_with_r(name):
    """Same verdict at 5% as R, the cumulative effect inside R's interval, the interval's width
    within 0.67-1.5x of R's."""
    est, lo, hi, p = R_FIGURES[name]
    y, X, t = _reference(name)
    s = CI.estimate(y, t, X).summary
    r_significant = p < 0.05 and (lo > 0 or hi < 0)
    assert s.significant == r_significant
    assert (s.posterior_prob_causal_effect > 0.95) == (p < 0.05)
    assert lo <= s.estimate <= hi
    ratio = (s.ci_high - s.ci_low) / (hi - lo)
    assert 0.67 <= ratio <= 1.5, ratio
    assert s.relative == pytest.approx(s.estimate / s.predicted)


def test_rerun_gives_identical_figures_and_seed_changes_them():
    y, X, t = _reference("google")
    a, b = CI.estimate(y, t, X, seed=3), CI.estimate(y, t, X, seed=3)
    assert a.summary == b.summary
    assert np.array_equal(a.paths, b.paths)
    assert CI.estimate(y, t, X, seed=4).summary.ci_low != a.summary.ci_low


def test_missing_pre_period_days_are_skipped():
    """A tenth of the pre-period days missing: the Kalman filter skips them and the figures stay
    within R's interval for the complete series."""
    y, X, t = _reference("google")
    holes = y.copy()
    rng = np.random.default_rng(0)
    pre = np.flatnonzero(y.index < t)
    holes.iloc[rng.choice(pre[1:], size=len(pre) // 10, replace=False)] = np.nan
    r = CI.estimate(holes, t, X)
    est, lo, hi, _ = R_FIGURES["google"]
    assert lo <= r.summary.estimate <= hi and r.summary.significant
    assert r.pre_fit["predicted"].notna().all()  # the fit runs through the holes


def test_weekly_series_has_weekly_points():
    y, X, t = _reference("volks")
    r = CI.estimate(y, t, X)
    assert (r.series.index.to_series().diff().dropna() == pd.Timedelta(days=7)).all()
    assert len(r.series) == int((y.index >= t).sum())


def test_truncated_variance_draw_is_the_conjugate_posterior():
    """The inverse-CDF draw of a variance under an SdPrior with an upper limit follows the
    truncated gamma posterior of the precision (Kolmogorov-Smirnov against scipy.stats) and never
    exceeds the limit."""
    rng = np.random.default_rng(0)
    df, ss, n, data_ss, upper = 32.0, 32 * 0.01**2, 60, 0.5, 0.077
    draws = np.array([bsts.draw_sigma2(rng, df, ss, n, data_ss, upper) for _ in range(4000)])
    assert draws.max() <= upper**2
    shape, rate = (df + n) / 2, (ss + data_ss) / 2
    g = stats.gamma(shape, scale=1 / rate)
    lo = 1 / upper**2
    cdf = lambda prec: (g.cdf(prec) - g.cdf(lo)) / g.sf(lo)  # noqa: E731
    assert stats.kstest(1 / draws, cdf).pvalue > 0.01
    assert g.cdf(lo) > 0.05  # the truncation binds in this case, so the test tells


def test_spike_and_slab_keeps_the_control_that_matters():
    """Five controls, one of which drives the series: the sampler includes it in nearly every draw
    and the four noise controls far less often (prior inclusion probability 3 / 6)."""
    rng = np.random.default_rng(5)
    T = 120
    X = pd.DataFrame({f"x{j}": 50 + np.cumsum(rng.normal(0, 1, T)) for j in range(5)})
    y = pd.Series(2.0 * X["x2"] + np.cumsum(rng.normal(0, 0.05, T)) + rng.normal(0, 1, T))
    r = CI.estimate(y, 100, X)
    inc = {k: v.inclusion for k, v in r.model.controls.items()}
    assert inc["x2"] > 0.95
    assert max(v for k, v in inc.items() if k != "x2") < 0.5
    assert r.model.controls["x2"].coefficient > 0


def test_tail_probability_as_r_computes_it():
    """R: min(#{sums >= actual}, #{sums <= actual}) / (draws + 1), the actual counted in both."""
    assert CI.tail_probability(np.array([1.0, 2.0, 3.0, 4.0]), 3.5) == pytest.approx(2 / 5)
    assert CI.tail_probability(np.array([1.0, 2.0, 3.0, 4.0]), 9.0) == pytest.approx(1 / 5)


def _exact_interval(y: np.ndarray, x: np.ndarray, n_pre: int, guess: float = 0.01):
    """The 95% interval of the cumulative effect under R CausalImpact's default model with one
    control, computed exactly instead of sampled: on a grid of (level sd, observation sd), uniform
    in their logs, a Kalman filter (run for all grid points at once) integrates the level and the
    coefficient (bsts' priors: level N(y_1, sd(y)), coefficient N(0, sigma^2 / (0.01 x'x/n)))
    and gives the likelihood and the normal predictive of the post-period sum; the posterior is
    likelihood x R's SdPriors, the predictive a mixture of normals. Independent of the sampler.
    Returns (low, high, posterior mean of the level sd in units of sd(y))."""
    from scipy import optimize
    from scipy.stats import norm

    mu, sd = y[:n_pre].mean(), y[:n_pre].std(ddof=1)
    z, x = (y - mu) / sd, (x - x[:n_pre].mean()) / x[:n_pre].std(ddof=1)
    sl, so = np.meshgrid(
        np.exp(np.linspace(np.log(1e-3), 0.0, 121)),
        np.exp(np.linspace(np.log(0.02), np.log(1.2), 61)),
        indexing="ij",
    )
    sl, so = sl.ravel(), so.ravel()
    a = np.zeros((len(sl), 2))
    a[:, 0] = z[0]
    P = np.zeros((len(sl), 2, 2))
    P[:, 0, 0], P[:, 1, 1] = 1.0, so**2 / (0.01 * np.mean(x[:n_pre] ** 2))
    ll = np.zeros(len(sl))
    for t in range(n_pre):
        P[:, 0, 0] += sl**2 if t else 0.0
        Z = np.array([1.0, x[t]])
        v, PZ = z[t] - a @ Z, P @ Z
        F = PZ @ Z + so**2
        ll -= 0.5 * (np.log(2 * np.pi * F) + v**2 / F)
        K = PZ / F[:, None]
        a, P = a + K * v[:, None], P - K[:, :, None] * PZ[:, None, :]
    m = len(z) - n_pre
    c = np.array([m, x[n_pre:].sum()])
    mean = a @ c
    var = np.einsum("i,gij,j->g", c, P, c) + sl**2 * np.sum(np.arange(1, m + 1) ** 2) + m * so**2
    lw = ll + CI._log_sd_prior(sl, guess, 32, 1.0) + CI._log_sd_prior(so, np.sqrt(0.2), 50, 1.2)
    w = np.exp(lw - lw.max())
    w /= w.sum()

    def q(p):
        f = lambda s: (w * norm.cdf((s - mean) / np.sqrt(var))).sum() - p  # noqa: E731
        return optimize.brentq(
            f, (mean - 10 * np.sqrt(var)).min(), (mean + 10 * np.sqrt(var)).max()
        )

    actual = y[n_pre:].sum() - m * mu
    return actual - q(0.975) * sd, actual - q(0.025) * sd, float(w @ sl)


def _coverage(level_sd: float, n: int = 300):
    """Sampler (300 iterations per series) and exact posterior of R's model on the same ``n``
    simulated series (100 points, 70 before the intervention, one control, effect 0, 2 or 5 per
    point): coverage of the cumulative effect's 95% interval, mean width, and the share of series
    the level prior check warns about."""
    hits = exact_hits = warned = covered_or_warned = 0
    widths, exact_widths = [], []
    for i in range(n):
        rng = np.random.default_rng(1000 + i)
        effect = float(rng.choice([0.0, 2.0, 5.0]))
        y, X = _series(rng, effect, level_sd)
        fit = CI.estimate(y, 70, X, niter=300, seed=i)
        s, truth = fit.summary, effect * 30
        lo, hi, _ = _exact_interval(y.to_numpy(), X["x"].to_numpy(), 70)
        hit = s.ci_low <= truth <= s.ci_high
        warn = fit.model.level_prior_log_bf > CI.STRONG_EVIDENCE
        hits, exact_hits = hits + hit, exact_hits + (lo <= truth <= hi)
        warned, covered_or_warned = warned + warn, covered_or_warned + (hit or warn)
        widths.append(s.ci_high - s.ci_low)
        exact_widths.append(hi - lo)
    out = {
        "coverage": hits / n,
        "exact_coverage": exact_hits / n,
        "width": float(np.mean(widths)),
        "exact_width": float(np.mean(exact_widths)),
        "warned": warned / n,
        "covered_or_warned": covered_or_warned / n,
    }
    print(out)
    return out


@pytest.mark.slow
def test_cumulative_interval_coverage_over_300_series():
    """The 95% interval of the cumulative effect covers the planted effect in 93-97% of 300
    simulated series that follow the model's assumptions (a local level with small level noise,
    0.05 per step, about R's prior of 1% of sd(y), plus a control), as the exact posterior of R's
    model does on the same series (grid Kalman filter, :func:`_exact_interval`), with the same
    mean width. 300 iterations per series instead of 1,000: coverage was 94.0% with either
    (README)."""
    c = _coverage(0.05)
    assert 0.93 <= c["coverage"] <= 0.97
    assert abs(c["coverage"] - c["exact_coverage"]) <= 0.03
    assert c["width"] == pytest.approx(c["exact_width"], rel=0.05)


@pytest.mark.slow
def test_large_level_noise_under_covers_as_r_does_and_is_flagged():
    """Ten times the level noise (0.5 per step against an observation noise of 1) on a 70-point
    pre-period: R's model itself covers far less than 95% there. Its prior holds the level sd
    near 1% of sd(y) with the weight of 32 observations, and 70 points cannot move it: the exact
    posterior of R's model (no sampling: :func:`_exact_interval`) covers 38% and tfp-causalimpact
    (Google's port, run outside the project on 60 of these series) 38%; chains started from a
    level sd of 0.3 fall back to 0.01 within 20 iterations. So what holds is: the sampler gives R's
    coverage and widths there (within 3 points and 5%), the limitation is real (below 60%: if this
    fails, the README must change), and the report's level prior check (Bayes factor of R's 0.1
    over 0.01 above 20) warns on most of these series. What does not hold: the issue's 93-97% in
    this design, under R's default or any of its documented priors (README)."""
    c = _coverage(0.5)
    assert abs(c["coverage"] - c["exact_coverage"]) <= 0.03
    assert c["width"] == pytest.approx(c["exact_width"], rel=0.05)
    assert c["coverage"] < 0.6
    assert c["warned"] >= 0.6


def test_no_effect_interval_covers_zero_and_placebo():
    y, X = _series(np.random.default_rng(7), 0.0)
    r = CI.estimate(y, 70, X)
    assert r.summary.ci_low <= 0 <= r.summary.ci_high
    p = CI.placebo(y, 70, X)
    assert p.covers_zero and 0 < p.effect.posterior_prob_causal_effect < 1


def test_cumulative_is_not_a_sum_of_pointwise_bounds():
    y, X = _series(np.random.default_rng(3), 3.0)
    r = CI.estimate(y, 70, X)
    s = r.series
    assert s.cum_effect_hi.iloc[-1] - s.cum_effect_lo.iloc[-1] < (s.effect_hi - s.effect_lo).sum()
    assert r.summary.estimate == pytest.approx(s.cum_effect.iloc[-1])
    assert r.summary.average.estimate == pytest.approx(r.summary.estimate / len(s))


def test_bad_inputs():
    with pytest.raises(DataError, match="no column 'nope'"):
        CI.read_series(str(REF / "google_data.csv"), "date", "nope", [])
    y, X = _series(np.random.default_rng(0), 0.0)
    with pytest.raises(DataError, match="seasonality of 40 needs at least 80 pre-period points"):
        CI.estimate(y, 70, X, seasonal=40)
    with pytest.raises(DataError, match="need a pre-period and a post-period"):
        CI.estimate(y, 200, X)
    gap = y.copy()
    gap.iloc[80] = np.nan
    with pytest.raises(DataError, match="the post-period has 1 missing value"):
        CI.estimate(gap, 70, X)
    shuffled = y.iloc[::-1]
    with pytest.raises(DataError, match="not in time order"):
        CI.estimate(shuffled, 70, X.iloc[::-1])


def test_pre_fit_covers_the_pre_period():
    """The fit and its band over every pre-period point (the chart draws them)."""
    y, X, t = _reference("google")
    imp = CI.estimate(y, t, X)
    assert len(imp.pre_fit) == int((y.index < t).sum())
    assert imp.pre_fit["predicted_lo"].lt(imp.pre_fit["predicted_hi"]).all()


def test_flat_pre_period_is_reported_not_fatal():
    """A new shop whose GMV is flat before a campaign: the estimate goes on in the series' own
    units and says so; a placebo that cannot be fitted is marked unavailable, not raised."""
    y = pd.Series(np.r_[np.zeros(40), np.full(10, 5.0)])
    r = CI.estimate(y, 40)
    assert r.model.pre_period_constant and r.summary.significant
    p = CI.placebo(y, 40)
    assert p.available is False and p.covers_zero is None
    assert p.figures() == {
        "fake_date": "26",
        "available": False,
        "reason": p.reason,
        "covers_zero": None,
    }


def test_probability_and_interval_agree():
    """The two-sided interval excludes zero exactly when the one-sided tail probability is below
    alpha / 2 (up to one draw): the report can say that a probability below 97.5% beside an
    interval across zero is consistent."""
    for name in R_FIGURES:
        y, X, t = _reference(name)
        s = CI.estimate(y, t, X).summary
        draws = 900
        assert s.significant == (s.tail_probability < 0.025 + 1 / draws), name


def test_level_prior_check_flags_volkswagen_not_google():
    """The Bayes factor of R's wider level prior (0.1) against its default (0.01): a share price
    (VolksWagen, a random walk) favours the wider one overwhelmingly and the text warns that the
    intervals under R's default are likely too narrow; R's daily example does not."""
    from analysis_lib.present.narrative import impact as NI

    yv, Xv, tv = _reference("volks")
    v = CI.estimate(yv, tv, Xv)
    assert v.model.level_prior_log_bf > 5 * CI.STRONG_EVIDENCE and v.model.prior_level_sd == 0.01
    text = NI.paragraphs(
        v.summary, v.model, name="VolksWagen", intervention="2015-09-20", controls=["BMW"]
    )
    assert any(p.startswith("Model check: the pre-period favours") for p in text)
    y, X, t = _reference("google")
    g = CI.estimate(y, t, X)
    assert g.model.level_prior_log_bf < CI.STRONG_EVIDENCE  # 2.96: a Bayes factor of 19
    assert not any(
        "Model check" in p
        for p in NI.paragraphs(g.summary, g.model, name="y", intervention="t", controls=["x1"])
    )
    auto = CI.estimate(yv, tv, Xv, prior_level_sd="auto")
    s = v.summary
    assert auto.model.prior_level_sd == 0.1
    assert auto.summary.ci_high - auto.summary.ci_low > 1.5 * (s.ci_high - s.ci_low)


def test_sd_prior_is_a_density_of_log_sd_within_the_upper_limit():
    """bsts' SdPrior as a density of log sd (Jacobian 2 / sd^2 from the precision), renormalised
    to the mass below the upper limit: it integrates to 1 whether the limit binds or not."""
    log_sd = np.linspace(np.log(1e-4), np.log(10.0), 20001)
    h = log_sd[1] - log_sd[0]
    for guess, n, upper in [(0.01, 32, 1.0), (0.1, 32, 1.0), (0.5, 1.0, 1.0), (1.0, 0.01, 1.2)]:
        dens = np.exp(CI._log_sd_prior(np.exp(log_sd), guess, n, upper))
        assert dens[np.exp(log_sd) > upper].sum() == 0
        assert dens.sum() * h == pytest.approx(1.0, abs=2e-3), (guess, n, upper)


def _brute_force_log_bf(z, X):
    """The Bayes factor of R's level prior 0.1 against 0.01 by brute force: the Kalman
    likelihood (states and coefficient under the same diffuse prior, scaled with the observation
    variance) at every point of a grid uniform in (log level sd, log observation sd), times both
    SdPriors as densities of log sd."""
    import warnings

    from scipy.special import logsumexp
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = UnobservedComponents(z, level="local level", exog=X, mle_regression=False)
        so_hat = np.sqrt(mod.fit(disp=False).params[0])
    v = mod.ssm.initialization.approximate_diffuse_variance
    sl = np.exp(np.arange(np.log(0.003), 0.0, 0.06))
    so = np.exp(np.arange(np.log(so_hat / 2.5), np.log(min(1.2, so_hat * 2.5)), 0.03))
    ll = np.empty((len(sl), len(so)))
    for b, o in enumerate(so):
        mod.ssm.initialize_approximate_diffuse(v * o**2)
        for a, lv in enumerate(sl):
            ll[a, b] = mod.loglike([o**2, lv**2])
    lpo = CI._log_sd_prior(so, np.sqrt(0.2), 50, 1.2)[None, :]
    f = lambda g: logsumexp(ll + CI._log_sd_prior(sl, g, 32, 1.0)[:, None] + lpo)  # noqa: E731
    return f(0.1) - f(0.01)


def test_level_prior_bayes_factor_integrates_over_log_sd():
    """The Bayes factor that ``prior_level_sd: auto`` and the report's level prior check read
    agrees with a brute-force integral over (log level sd, log observation sd). On this series
    (70 points, level noise 0.2 per step against an observation noise of 1) R's default is
    favoured (log BF -3.1); the sum over a grid even in log q with the observation sd profiled
    out, before, gave +3.7: a warning and a switch to 0.1 that the evidence does not support."""
    rng = np.random.default_rng(1003)
    rng.choice([0.0, 2.0, 5.0])
    x = 100 + np.cumsum(rng.normal(0, 1, 70))
    y = 1.2 * x + np.cumsum(rng.normal(0, 0.2, 70)) + rng.normal(0, 1, 70)
    z, X = (y - y.mean()) / y.std(ddof=1), ((x - x.mean()) / x.std(ddof=1))[:, None]
    got, ref = CI.level_prior_log_bf(z, X, None), _brute_force_log_bf(z, X)
    assert got == pytest.approx(ref, abs=0.02)
    assert got < 0


@pytest.mark.parametrize(
    "value,ok", [(0.01, True), (0.1, True), ("auto", True), (0, False), (2, False), ("wide", False)]
)
def test_prior_level_sd_is_a_param(value, ok):
    """``prior_level_sd`` reaches both notebooks through params: R's 0.01, 0.1 or auto; nothing else."""
    from analysis_lib import params as P

    doc = {
        "notebook": "intervention_impact",
        "title": "t",
        "data": {"url": "."},
        "period": {"start": "2020-01-01", "end": "2020-12-31"},
        "series": {"path": "s.csv", "y": "y"},
        "intervention": "2020-06-01",
        "prior_level_sd": value,
    }
    if ok:
        assert P.validate(doc).prior_level_sd == value
    else:
        with pytest.raises(P.ParamsError, match="prior_level_sd"):
            P.validate(doc)
