"""A Gibbs sampler for the model R CausalImpact fits by default (bsts: a local level, optional
seasonality, a static spike-and-slab regression on the controls), on data standardised on the
pre-period.

Why a sampler and not maximum likelihood: R's intervals come from the posterior under informative
priors (the level's standard deviation pulled towards 1% of sd(y) with the weight of 32
observations; the residual standard deviation towards sqrt(1 - 0.8) of sd(y) with the weight of
50). A plug-in or Laplace approximation of the variances gives intervals several times R's on its
own reference series (the issue behind this module); drawing the variances from their conjugate
posteriors reproduces R.

The priors are R's defaults (CausalImpact ``ConstructModel`` and bsts ``.SetDefaultPrior`` /
BoomSpikeSlab ``SpikeSlabPrior``), in standardised units where sd(y) = 1:

- level sd: SdPrior(sigma.guess = 0.01, sample.size = 32, upper.limit = 1), i.e.
  1/sigma^2 ~ Gamma(32 / 2, 32 * 0.01^2 / 2) truncated to sigma <= 1;
- seasonal sd (when ``nseasons`` > 1): SdPrior(0.01, sample.size = 0.01, upper.limit = 1);
- residual sd with controls: SdPrior(sqrt(1 - expected.r2) = sqrt(0.2), sample.size = prior.df
  = 50, upper.limit = 1.2); without controls SdPrior(1, 0.01, 1.2);
- coefficients: Zellner-type slab beta | sigma ~ N(0, sigma^2 Omega^-1) with
  Omega = 0.01 * (0.5 * diag(X'X / n) + 0.5 * X'X / n), each control included with prior
  probability min(1, 3 / (k + 1)) (R's expected model size 3 over k controls plus the intercept).
  The intercept itself is left out: the local level carries it (bsts moves it into the level
  afterwards anyway, ``.RemoveInterceptAmbiguity``).

One iteration: the states (level, seasonal) by statsmodels' simulation smoother given the
variances and the regression term (carried as the observation intercept); the level and seasonal
variances from their truncated inverse-gamma posteriors given the state increments of the
pre-period; then the inclusion indicators (one Gibbs flip per control, with the coefficients and
residual variance integrated out), the residual variance (truncated inverse gamma) and the
coefficients (normal) given the level. Post-period observations are missing, so the smoother draws
the post-period states from their predictive distribution given the pre-period, as bsts does.
The first 10% of the iterations are discarded (bsts ``SuggestBurn(0.1)`` without its
log-likelihood refinement).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

LEVEL_SIGMA_GUESS = 0.01  # x sd(y): CausalImpact's prior.level.sd default
LEVEL_SAMPLE_SIZE = 32.0  # CausalImpact kLocalLevelPriorSampleSize
EXPECTED_MODEL_SIZE = 3.0  # CausalImpact kStaticRegressionExpectedModelSize
EXPECTED_R2 = 0.8  # kStaticRegressionExpectedR2
PRIOR_DF = 50.0  # kStaticRegressionPriorDf
PRIOR_INFORMATION_WEIGHT = 0.01  # BoomSpikeSlab SpikeSlabPrior default
DIAGONAL_SHRINKAGE = 0.5  # BoomSpikeSlab SpikeSlabPrior default
RESIDUAL_UPPER = 1.2  # bsts .SetDefaultPrior: sigma.upper.limit = 1.2 sd(y)
BURN_FRACTION = 0.1


@dataclass
class Draws:
    """Posterior draws after burn-in, in standardised units.

    Attributes:
        signal: level + seasonal + regression per draw and time point (draws x n): the mean of
            the series given the draw, over the pre- and post-period.
        sigma_obs, sigma_level, sigma_season: standard deviations per draw.
        beta: coefficients per draw (draws x k; zero where a control is left out).
        burn: iterations discarded.
    """

    signal: np.ndarray
    sigma_obs: np.ndarray
    sigma_level: np.ndarray
    sigma_season: np.ndarray | None
    beta: np.ndarray
    burn: int

    def predictive(self, rng: np.random.Generator) -> np.ndarray:
        """Posterior predictive draws of the series: the signal plus observation noise (R's
        ``ComputeResponseTrajectories``)."""
        return self.signal + rng.normal(size=self.signal.shape) * self.sigma_obs[:, None]


def draw_sigma2(
    rng: np.random.Generator, prior_df: float, prior_ss: float, n: int, ss: float, upper: float
) -> float:
    """One variance from its conjugate posterior under an SdPrior: the precision 1/sigma^2 is
    Gamma((prior_df + n) / 2, rate (prior_ss + ss) / 2), truncated so that sigma <= ``upper`` by
    inverting the survival function (exact, no rejection loop; stable when the bound is far in
    the tail). The gamma survival function and its inverse are scipy.special's regularised
    incomplete gamma functions, which ``scipy.stats.gamma.sf``/``isf`` wrap; called directly
    they cost a third as much, and this runs three times per iteration."""
    shape = (prior_df + n) / 2.0
    rate = (prior_ss + ss) / 2.0
    lo = 1.0 / upper**2  # precision >= lo  <=>  sigma <= upper
    tail = special.gammaincc(shape, lo * rate)
    if not tail > 0:
        return upper**2
    prec = special.gammainccinv(shape, rng.uniform() * tail) / rate
    return 1.0 / max(prec, lo)


class _SpikeSlab:
    """Spike-and-slab regression of a residual on the controls, coefficients and residual
    variance integrated out for the indicators (George & McCulloch's SSVS with a conjugate
    slab, as BoomSpikeSlab samples it)."""

    def __init__(self, X: np.ndarray, x_prior: np.ndarray, prior_df: float, prior_ss: float):
        self.X = X
        self.k = X.shape[1]
        self.xtx = X.T @ X
        n = len(x_prior)
        xtx_p = x_prior.T @ x_prior / n
        d = np.diag(np.diag(xtx_p))
        self.omega = PRIOR_INFORMATION_WEIGHT * (
            DIAGONAL_SHRINKAGE * d + (1 - DIAGONAL_SHRINKAGE) * xtx_p
        )
        self.omega += np.eye(self.k) * 1e-10  # a constant control would make it singular
        self.pi = min(1.0, EXPECTED_MODEL_SIZE / (self.k + 1))
        self.prior_df, self.prior_ss = prior_df, prior_ss
        self.n = X.shape[0]

    def _post(self, g: np.ndarray, xtr: np.ndarray, rtr: float):
        """Log marginal likelihood of the indicators ``g`` (up to a constant) and the
        conditional posterior pieces."""
        if not g.any():
            ss = self.prior_ss + rtr
            return -0.5 * (self.prior_df + self.n) * np.log(ss), ss, None, None
        om = self.omega[np.ix_(g, g)]
        prec = om + self.xtx[np.ix_(g, g)]
        c = np.linalg.cholesky(prec)
        b = np.linalg.solve(c.T, np.linalg.solve(c, xtr[g]))
        ss = max(self.prior_ss + rtr - b @ prec @ b, 1e-12)
        logdet_om = np.linalg.slogdet(om)[1]
        logm = (
            0.5 * logdet_om - np.log(np.diag(c)).sum() - 0.5 * (self.prior_df + self.n) * np.log(ss)
        )
        return logm, ss, b, c

    def draw(self, rng: np.random.Generator, r: np.ndarray, g: np.ndarray):
        """Indicators, residual variance and coefficients given the residual ``r``: each
        indicator in random order from its conditional (the current model's marginal likelihood
        against the one with that indicator flipped), then sigma^2 and beta given them."""
        xtr, rtr = self.X.T @ r, float(r @ r)
        cur = self._post(g, xtr, rtr)
        if self.pi < 1.0:
            logit = np.log(self.pi) - np.log1p(-self.pi)
            for j in rng.permutation(self.k):
                h = g.copy()
                h[j] = not g[j]
                alt = self._post(h, xtr, rtr)
                # log odds of "included" against "left out"
                d = (alt[0] - cur[0]) if h[j] else (cur[0] - alt[0])
                include = rng.uniform() < 1.0 / (1.0 + np.exp(-np.clip(d + logit, -700, 700)))
                if include == h[j]:
                    g, cur = h, alt
        _, ss, b, c = cur
        s2 = draw_sigma2(
            rng, self.prior_df, self.prior_ss, self.n, ss - self.prior_ss, RESIDUAL_UPPER
        )
        beta = np.zeros(self.k)
        if b is not None:
            beta[g] = b + np.sqrt(s2) * np.linalg.solve(c.T, rng.normal(size=len(b)))
        return g, s2, beta


def sample(
    z: np.ndarray,
    n_pre: int,
    X: np.ndarray | None = None,
    nseasons: int | None = None,
    niter: int = 1000,
    seed: int = 0,
    prior_level_sd: float = LEVEL_SIGMA_GUESS,
) -> Draws:
    """Run the sampler on the standardised series ``z`` (length n; the first ``n_pre`` points
    are the pre-period, NaN marks a missing day; later points are treated as missing, as R sets
    the post-period response to NA) with standardised controls ``X`` (n x k, complete).

    Seeded: the same inputs and ``seed`` give the same draws."""
    from statsmodels.tsa.statespace.simulation_smoother import SIMULATION_STATE
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    rng = np.random.default_rng(seed)
    z = np.asarray(z, dtype=float)
    n = len(z)
    y = z.copy()
    y[n_pre:] = np.nan
    obs = ~np.isnan(y)
    obs_idx = np.flatnonzero(obs)
    season = nseasons if nseasons and nseasons > 1 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = UnobservedComponents(y, level="local level", seasonal=season)
    ssm = mod.ssm
    m = mod.k_states
    first = y[obs_idx[0]]
    ssm.initialize_known(np.r_[first, np.zeros(m - 1)], np.eye(m))  # bsts: N(y[1], sd(y))
    ssm["obs_intercept"] = np.zeros((1, n))
    has_x = X is not None and X.shape[1] > 0
    if has_x:
        X = np.asarray(X, dtype=float)
        ss_reg = _SpikeSlab(X[obs_idx], X, PRIOR_DF, PRIOR_DF * (1 - EXPECTED_R2))
        k = X.shape[1]
        # start from least squares of y on the controls and an intercept: the chain then starts
        # where the posterior mass is instead of a level that has soaked up the regression
        A = np.c_[np.ones(len(obs_idx)), X[obs_idx]]
        beta = np.linalg.lstsq(A, y[obs_idx], rcond=None)[0][1:]
        gamma = np.ones(k, dtype=bool) if ss_reg.pi >= 1 else beta != 0
        obs_prior = (PRIOR_DF, PRIOR_DF * (1 - EXPECTED_R2))
    else:
        k, beta, gamma = 0, np.zeros(0), np.zeros(0, dtype=bool)
        obs_prior = (0.01, 0.01)
    s2_obs = obs_prior[1] / obs_prior[0]
    s2_level = prior_level_sd**2
    s2_season = LEVEL_SIGMA_GUESS**2
    # states only: the disturbance smoother's output is not needed (40% of the time per draw)
    sim = mod.simulation_smoother(simulation_output=SIMULATION_STATE)
    burn = int(np.floor(BURN_FRACTION * niter))
    keep = niter - burn
    signal = np.empty((keep, n))
    out_obs, out_lvl = np.empty(keep), np.empty(keep)
    out_sea = np.empty(keep) if season else None
    out_beta = np.zeros((keep, k))
    level_prior = (LEVEL_SAMPLE_SIZE, LEVEL_SAMPLE_SIZE * prior_level_sd**2)
    season_prior = (0.01, 0.01 * LEVEL_SIGMA_GUESS**2)
    for it in range(niter):
        xb = X @ beta if has_x else np.zeros(n)
        ssm["obs_intercept", 0, :] = xb
        ssm["obs_cov", 0, 0] = s2_obs
        ssm["state_cov", 0, 0] = s2_level
        if season:
            ssm["state_cov", 1, 1] = s2_season
        sim.simulate(rng=rng)
        st = sim.simulated_state
        states = st[0] + st[1] if season else st[0]
        lv = st[0, :n_pre]
        s2_level = draw_sigma2(rng, *level_prior, n_pre - 1, float(np.sum(np.diff(lv) ** 2)), 1.0)
        if season:
            # the seasonal disturbance: gamma_{t+1} + sum of the s - 1 current seasonal states
            w = st[1, 1:n_pre] + st[1:, : n_pre - 1].sum(axis=0)
            s2_season = draw_sigma2(rng, *season_prior, n_pre - 1, float(w @ w), 1.0)
        r = y[obs_idx] - states[obs_idx]
        if has_x:
            gamma, s2_obs, beta = ss_reg.draw(rng, r, gamma)
        else:
            s2_obs = draw_sigma2(rng, *obs_prior, len(r), float(r @ r), RESIDUAL_UPPER)
        if it >= burn:
            i = it - burn
            signal[i] = states + (X @ beta if has_x else 0.0)
            out_obs[i], out_lvl[i] = np.sqrt(s2_obs), np.sqrt(s2_level)
            if season:
                out_sea[i] = np.sqrt(s2_season)
            out_beta[i] = beta
    return Draws(signal, out_obs, out_lvl, out_sea, out_beta, burn)
