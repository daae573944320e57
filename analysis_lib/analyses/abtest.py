"""A/B test analysis (A/B 测试) on per-variant sufficient statistics.

The engine reduces a unit-level table (one row per unit, a ``variant`` column, metric columns; see
:mod:`analysis_lib.analyses.abtest_units`) to counts, sums, sums of squares and cross products per variant,
so 10^8 units cost Python no more than 10^3. Statistics then come from those:

- proportion metrics: statsmodels ``test_proportions_2indep`` / ``confint_proportions_2indep``
  (Wald, difference);
- mean metrics: Welch's t (scipy ``ttest_ind_from_stats``) with the Welch-Satterthwaite interval;
  optional winsorization at a percentile computed in the engine;
- ratio metrics (sum of numerator / sum of denominator per variant, e.g. AOV): the delta method;
- CUPED: a pre-period covariate with one pooled slope theta = cov(y, x) / var(x); the adjusted
  difference and its variance follow from the same sums (checked against OLS in the tests). For a
  ratio metric the covariate may be a ratio too (``covariate`` / ``covariate_denominator``, e.g.
  pre-period revenue / pre-period orders): both ratios are linearised by the delta method and the
  slope is their pooled covariance over the covariate's variance, as tea-tasting's
  ``RatioOfMeans`` does; the sums then include the cross products of numerator and denominator
  with the covariate's numerator and denominator (checked against a per-unit linearisation and
  OLS in the tests);
- missing values: per metric ``missing: drop`` (default; a unit without a value, or without its
  denominator or covariate, is left out of that metric and counted) or ``zero`` (a missing value
  counts as 0, for tables that leave "nothing happened" empty); the counts are in the sums;
- relative differences: delta method on the ratio of the two means;
- a sample-ratio-mismatch chi-square test (scipy) against the planned split;
- Holm or Benjamini-Hochberg across variants x metrics (statsmodels ``multipletests``);
- optionally always-valid intervals and p-values (:mod:`analysis_lib.analyses.sequential`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from analysis_lib.analyses import sequential

KINDS = ("proportion", "mean", "ratio")


@dataclass(frozen=True)
class MetricDef:
    """A metric: ``name``, ``kind`` (proportion, mean, ratio), the unit-table ``column`` (or
    ``numerator`` / ``denominator`` for a ratio), ``winsorize`` (upper percentile, e.g. 0.99),
    ``covariate`` (a pre-period column for CUPED; for a ratio optionally over
    ``covariate_denominator``), ``higher_is_better``, ``missing`` (``drop`` or ``zero``)."""

    name: str
    kind: str
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    winsorize: float | None = None
    covariate: str | None = None
    higher_is_better: bool = True
    covariate_denominator: str | None = None
    missing: str = "drop"

    @property
    def y(self) -> str:
        """The column of the metric's values (numerator for a ratio)."""
        return self.numerator if self.kind == "ratio" else (self.column or self.name)

    def columns(self) -> list[str]:
        """The unit-table columns the metric reads (value, denominator, covariate parts)."""
        cols = [self.y, self.denominator if self.kind == "ratio" else None]
        return [c for c in [*cols, self.covariate, self.covariate_denominator] if c]


def _num(col: ibis.Value) -> ibis.Value:
    return col.cast("float64")


def _vars(m: MetricDef) -> tuple[str, list[str]]:
    """The variables whose sums the metric needs (y = value or numerator, x = denominator,
    c = covariate, d = covariate denominator) and the products of pairs of them."""
    ratio, cuped = m.kind == "ratio", bool(m.covariate)
    names = "y" + "x" * ratio + "c" * cuped + "d" * (ratio and cuped)
    pairs = ["yy"] + ["xx", "xy"] * ratio + ["cc", "yc"] * cuped
    return names, pairs + ["dd", "cd", "yd", "xc", "xd"] * (ratio and cuped)


def sufficient_stats(
    units: ibis.Table, metrics: list[MetricDef], by: list[str] | None = None, execute=None
) -> pd.DataFrame:
    """Per group (``variant`` plus ``by``): ``__units`` (every unit of the group, for the sample
    ratio check) and for each metric ``<m>__n`` (units counted), ``__missing`` (units with a
    missing value: left out under ``missing: drop``, counted as 0 under ``zero``), ``__sy``,
    ``__syy`` and, for ratios, ``__sx``, ``__sxx``, ``__sxy`` (x = denominator), for CUPED
    ``__sc``, ``__scc``, ``__syc`` (c = covariate), for CUPED of a ratio also the cross products
    with d (the covariate's denominator, 1 when not given): ``__sd``, ``__sdd``, ``__scd``,
    ``__syd``, ``__sxc``, ``__sxd``. Computed in the engine; ``execute`` runs an expression
    (default: ``expr.execute()``)."""
    execute = execute or (lambda e: e.execute())
    t = units
    caps = {}
    for m in metrics:
        if m.winsorize:
            caps[m.name] = float(execute(_num(t[m.y]).quantile(m.winsorize)))
    aggs = {"__units": t.count()}
    for m in metrics:
        raw = {"y": _num(t[m.y])}
        if m.kind == "ratio":
            raw["x"] = _num(t[m.denominator])
        if m.covariate:
            raw["c"] = _num(t[m.covariate])
            if m.kind == "ratio":
                raw["d"] = (
                    _num(t[m.covariate_denominator])
                    if m.covariate_denominator
                    else ibis.literal(1.0, type="float64")
                )
        incomplete = ibis.or_(*(v.isnull() for v in raw.values()))
        aggs[f"{m.name}__missing"] = incomplete.ifelse(1, 0).sum().coalesce(0)
        y = raw["y"] if m.missing == "drop" else raw["y"].fill_null(0)
        if m.name in caps:  # DuckDB's least() skips nulls: cap after the fill, never a null
            y = ibis.least(y, caps[m.name])
        v = {**raw, "y": y}
        if m.missing == "zero":
            v = {k: c.fill_null(0) for k, c in v.items()}
            aggs[f"{m.name}__n"] = t.count()
        else:  # drop: a unit without every value the metric reads adds nothing
            v = {k: incomplete.ifelse(0.0, c) for k, c in v.items()}
            aggs[f"{m.name}__n"] = incomplete.ifelse(0, 1).sum().coalesce(0)
        names, pairs = _vars(m)
        for a in names:
            aggs[f"{m.name}__s{a}"] = v[a].sum().coalesce(0)
        for ab in pairs:
            aggs[f"{m.name}__s{ab}"] = (v[ab[0]] * v[ab[1]]).sum().coalesce(0)
    keys = ["variant", *(by or [])]
    df = execute(t.group_by(keys).aggregate(**aggs))
    df = df.sort_values(keys).reset_index(drop=True)
    df.attrs["winsorize_caps"] = caps
    return df


def _sums(rows: pd.Series | pd.DataFrame, m: MetricDef) -> dict[str, float]:
    """The metric's sums of one variant (a row) or pooled over several (a frame): ``n`` and
    ``s<a>`` / ``s<ab>`` for the variables it has (see :func:`sufficient_stats`)."""
    prefix = f"{m.name}__"
    if isinstance(rows, pd.DataFrame):
        got = {k[len(prefix) :]: float(rows[k].sum()) for k in rows.columns if k.startswith(prefix)}
    else:
        got = {k[len(prefix) :]: float(rows[k]) for k in rows.index if k.startswith(prefix)}
    return got


def _linearised(s: dict[str, float]) -> dict[str, float]:
    """Per-unit moments of a ratio of means y/x and of its covariate ratio c/d from their sums (delta
    method): the ratios ``r``, ``rc``, the per-unit variances ``var_r``, ``var_c`` of the
    linearised ratios and their covariance ``cov_rc``. Dividing by n gives the variances of the
    estimates."""
    n = s["n"]

    def mean(a):
        return s[f"s{a}"] / n

    def cov(a, b):
        key = f"s{a}{b}" if f"s{a}{b}" in s else f"s{b}{a}"
        return (s[key] - n * mean(a) * mean(b)) / (n - 1)

    my, mx, mc, md = mean("y"), mean("x"), mean("c"), mean("d")
    r, rc = my / mx, mc / md
    return {
        "r": r,
        "rc": rc,
        "var_r": (cov("y", "y") - 2 * r * cov("x", "y") + r * r * cov("x", "x")) / (mx * mx),
        "var_c": (cov("c", "c") - 2 * rc * cov("c", "d") + rc * rc * cov("d", "d")) / (md * md),
        "cov_rc": (cov("y", "c") - r * cov("x", "c") - rc * cov("y", "d") + r * rc * cov("x", "d"))
        / (mx * md),
    }


def _moments(
    row: pd.Series, m: MetricDef, theta: float = 0.0, cbar: float = 0.0
) -> tuple[float, float, float]:
    """(estimate, variance of the estimate, n) of one variant's metric."""
    n = float(row[f"{m.name}__n"])
    sy, syy = float(row[f"{m.name}__sy"]), float(row[f"{m.name}__syy"])
    if n < 2:
        return float("nan"), float("nan"), n
    my = sy / n
    vy = (syy - n * my * my) / (n - 1)
    if m.kind == "ratio" and m.covariate:
        s = _sums(row, m)
        if s["sx"] == 0 or s["sd"] == 0:
            return float("nan"), float("nan"), n
        q = _linearised(s)
        est = q["r"] - theta * (q["rc"] - cbar)
        var = (q["var_r"] - 2 * theta * q["cov_rc"] + theta * theta * q["var_c"]) / n
        return est, var, n
    if m.kind == "ratio":
        sx, sxx, sxy = (float(row[f"{m.name}__{k}"]) for k in ("sx", "sxx", "sxy"))
        mx = sx / n
        if mx == 0:
            return float("nan"), float("nan"), n
        vx = (sxx - n * mx * mx) / (n - 1)
        cxy = (sxy - n * mx * my) / (n - 1)
        r = my / mx
        var = (vy - 2 * r * cxy + r * r * vx) / (n * mx * mx)
        return r, var, n
    if m.covariate:
        sc, scc, syc = (float(row[f"{m.name}__{k}"]) for k in ("sc", "scc", "syc"))
        mc = sc / n
        vc = (scc - n * mc * mc) / (n - 1)
        cyc = (syc - n * my * mc) / (n - 1)
        est = my - theta * (mc - cbar)
        var = (vy - 2 * theta * cyc + theta * theta * vc) / n
        return est, var, n
    return my, vy / n, n


def cuped_theta(ss: pd.DataFrame, m: MetricDef) -> tuple[float, float]:
    """Pooled CUPED slope theta = cov(y, x) / var(x) over all variants, and the pooled mean of x
    (x = the covariate). For a ratio metric, y and x are the linearised ratios of the value and of
    the covariate (tea-tasting's RatioOfMeans), and the mean is the pooled covariate ratio."""
    if m.kind == "ratio":
        s = _sums(ss, m)
        if s["n"] < 2 or s["sx"] == 0 or s["sd"] == 0:
            return 0.0, 0.0
        q = _linearised(s)
        return (q["cov_rc"] / q["var_c"] if q["var_c"] > 0 else 0.0), q["rc"]
    n = ss[f"{m.name}__n"].sum()
    sy, sc = ss[f"{m.name}__sy"].sum(), ss[f"{m.name}__sc"].sum()
    scc, syc = ss[f"{m.name}__scc"].sum(), ss[f"{m.name}__syc"].sum()
    vc = scc - sc * sc / n
    cyc = syc - sy * sc / n
    return (cyc / vc if vc > 0 else 0.0), sc / n


@dataclass
class Comparison:
    """One metric, one treatment variant against control: values, differences, interval, p."""

    metric: str
    kind: str
    variant: str
    control_value: float
    treatment_value: float
    abs_diff: float
    rel_diff: float
    ci_low: float
    ci_high: float
    rel_ci_low: float
    rel_ci_high: float
    p_value: float
    n_control: int
    n_treatment: int
    method: str
    p_value_adjusted: float = float("nan")


def _rel(mt: float, vt: float, mc: float, vc: float, z: float) -> tuple[float, float, float]:
    """Relative difference mt / mc - 1 and its delta-method interval (z-multiplier)."""
    if mc == 0 or not np.isfinite(mc):
        return float("nan"), float("nan"), float("nan")
    rel = mt / mc - 1
    var = vt / mc**2 + mt**2 * vc / mc**4
    hw = z * math.sqrt(max(var, 0))
    return rel, rel - hw, rel + hw


def compare(
    ss: pd.DataFrame,
    metrics: list[MetricDef],
    control: str,
    alpha: float = 0.05,
    sequential_n: float | None = None,
) -> list[Comparison]:
    """Every treatment variant against ``control`` for every metric. ``sequential_n`` (the planned
    total units) switches to always-valid intervals and p-values."""
    rows = ss.set_index("variant")
    out = []
    zcrit = stats.norm.ppf(1 - alpha / 2)
    for m in metrics:
        theta, cbar = cuped_theta(ss, m) if m.covariate else (0.0, 0.0)
        c = rows.loc[control]
        mc, vc, nc = _moments(c, m, theta, cbar)
        for v in rows.index:
            if v == control:
                continue
            mt, vt, nt = _moments(rows.loc[v], m, theta, cbar)
            diff = mt - mc
            var = vt + vc
            method = ""
            if sequential_n:
                rho = sequential.rho_for(sequential_n, alpha)
                hw = float(sequential.halfwidth(var, nt + nc, alpha, rho))
                lo, hi = diff - hw, diff + hw
                p = sequential.p_value(diff, var, nt + nc, rho)
                zrel = hw / math.sqrt(var) if var > 0 else zcrit
                method = "always-valid confidence sequence"
            elif m.kind == "proportion" and not m.covariate:
                ct, cc = float(rows.loc[v][f"{m.name}__sy"]), float(c[f"{m.name}__sy"])
                _, p = test_proportions_2indep(ct, nt, cc, nc, compare="diff", method="wald")
                lo, hi = confint_proportions_2indep(
                    ct, nt, cc, nc, compare="diff", method="wald", alpha=alpha
                )
                zrel = zcrit
                method = "two-proportion Wald test (statsmodels)"
            elif m.kind == "mean" and not m.covariate:
                sd_t, sd_c = math.sqrt(vt * nt), math.sqrt(vc * nc)
                res = stats.ttest_ind_from_stats(mt, sd_t, nt, mc, sd_c, nc, equal_var=False)
                p = float(res.pvalue)
                dof = var**2 / ((vt**2) / (nt - 1) + (vc**2) / (nc - 1)) if var > 0 else np.inf
                tcrit = stats.t.ppf(1 - alpha / 2, dof)
                lo, hi = diff - tcrit * math.sqrt(var), diff + tcrit * math.sqrt(var)
                zrel = tcrit
                method = "Welch t-test (scipy)"
            else:
                se = math.sqrt(var) if var > 0 else float("nan")
                p = (
                    float(2 * stats.norm.sf(abs(diff / se)))
                    if se and np.isfinite(se)
                    else float("nan")
                )
                lo, hi = diff - zcrit * se, diff + zcrit * se
                zrel = zcrit
                method = (
                    ("delta method z-test with CUPED" if m.covariate else "delta method z-test")
                    if m.kind == "ratio"
                    else "CUPED z-test"
                )
            rel, rlo, rhi = _rel(mt, vt, mc, vc, zrel)
            out.append(
                Comparison(
                    m.name,
                    m.kind,
                    str(v),
                    mc,
                    mt,
                    diff,
                    rel,
                    float(lo),
                    float(hi),
                    rlo,
                    rhi,
                    float(p),
                    int(nc),
                    int(nt),
                    method,
                )
            )
    return out


def adjust(comparisons: list[Comparison], method: str = "holm") -> list[Comparison]:
    """Adjust p-values across all comparisons (variants x metrics): ``holm``, ``bh`` or ``none``."""
    ps = np.array([c.p_value for c in comparisons], dtype=float)
    ok = np.isfinite(ps)
    adj = ps.copy()
    if method != "none" and ok.any():
        adj[ok] = multipletests(ps[ok], method={"holm": "holm", "bh": "fdr_bh"}[method])[1]
    for c, a in zip(comparisons, adj, strict=True):
        c.p_value_adjusted = float(a)
    return comparisons


def to_frame(comparisons: list[Comparison]) -> pd.DataFrame:
    """Comparisons as a DataFrame (one row per metric and variant)."""
    return pd.DataFrame([c.__dict__ for c in comparisons])


def srm(counts: dict[str, int], planned: dict[str, float] | None = None) -> dict:
    """Sample-ratio mismatch: chi-square of the observed units per variant against the planned
    split (equal when not given)."""
    variants = sorted(counts)
    obs = np.array([counts[v] for v in variants], dtype=float)
    w = np.array([(planned or {}).get(v, 1.0) for v in variants], dtype=float)
    exp = obs.sum() * w / w.sum()
    chi2, p = stats.chisquare(obs, exp)
    return {
        "p_value": float(p),
        "chi2": float(chi2),
        "counts": {v: int(c) for v, c in zip(variants, obs, strict=True)},
        "expected": {v: float(e) for v, e in zip(variants, exp, strict=True)},
    }


GUARD_PASSED, GUARD_FAILED, GUARD_UNSURE = "passed", "failed", "not enough data"
GUARD_ZH = {GUARD_PASSED: "通过", GUARD_FAILED: "未通过", GUARD_UNSURE: "数据不足"}


@dataclass(frozen=True)
class Guardrail:
    """A metric that must not get worse by more than ``tolerance`` (relative)."""

    metric: str
    tolerance: float


def guardrail_status(
    cmp: pd.DataFrame, guardrails: list[Guardrail], metrics: dict[str, MetricDef]
) -> pd.DataFrame:
    """Per guardrail and variant, from the interval of the relative change (a non-inferiority
    reading): ``failed`` when the whole interval lies beyond the tolerance in the bad direction,
    ``passed`` when the whole interval lies within it (a degradation beyond the tolerance is ruled
    out), else ``not enough data`` (the interval crosses the tolerance, or there is none): such a
    guardrail has not shown the metric safe, whatever its estimate."""
    rows = []
    for g in guardrails:
        sign = 1 if metrics[g.metric].higher_is_better else -1
        for _, r in cmp[cmp.metric == g.metric].iterrows():
            # the interval's ends in the good direction: worst (lower) and best (upper)
            worst = r.rel_ci_low if sign > 0 else -r.rel_ci_high
            best = r.rel_ci_high if sign > 0 else -r.rel_ci_low
            if np.isfinite(best) and best < -g.tolerance:
                status = GUARD_FAILED
            elif np.isfinite(worst) and worst >= -g.tolerance:
                status = GUARD_PASSED
            else:
                status = GUARD_UNSURE
            rows.append(
                {
                    "metric": g.metric,
                    "variant": r.variant,
                    "rel_diff": r.rel_diff,
                    "rel_ci_low": r.rel_ci_low,
                    "rel_ci_high": r.rel_ci_high,
                    "tolerance": g.tolerance,
                    "status": status,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "metric",
            "variant",
            "rel_diff",
            "rel_ci_low",
            "rel_ci_high",
            "tolerance",
            "status",
        ],
    )


def verdict(
    cmp: pd.DataFrame,
    primary: MetricDef,
    srm_result: dict,
    guards: pd.DataFrame,
    alpha: float,
    srm_threshold: float,
    metrics: dict[str, MetricDef] | None = None,
) -> dict:
    """Ship, don't ship or inconclusive, with the reason, from the numbers: a sample ratio mismatch
    blocks; ship when the primary metric improves significantly (adjusted p) and no guardrail
    failed (a guardrail with not enough data is named in the reason: it has not shown the metric
    safe); don't ship on a failed guardrail, or on a significant harm to any metric without a
    significant gain in the primary one; otherwise inconclusive."""
    if srm_result["p_value"] < srm_threshold:
        return {
            "decision": "inconclusive",
            "variant": None,
            "reason": f"sample ratio mismatch (p = {srm_result['p_value']:.2g} < {srm_threshold:g}): "
            "the assignment is broken, so no effect can be trusted",
        }
    sign = 1 if primary.higher_is_better else -1
    p = cmp[cmp.metric == primary.name]
    bad_guard = guards[guards.status == GUARD_FAILED] if len(guards) else guards
    signs = (
        cmp.metric.map(lambda m: 1 if metrics.get(m, primary).higher_is_better else -1)
        if metrics
        else sign
    )
    harmed = cmp[(cmp.p_value_adjusted < alpha) & (signs * cmp.abs_diff < 0)]
    better = p[(p.p_value_adjusted < alpha) & (sign * p.abs_diff > 0)]
    better = better[~better.variant.isin(bad_guard.variant)] if len(bad_guard) else better
    if len(better):
        best = better.loc[(sign * better.rel_diff).idxmax()]
        unsure = (
            guards[(guards.variant == best.variant) & (guards.status == GUARD_UNSURE)]
            if len(guards)
            else guards
        )
        also = harmed[(harmed.variant == best.variant) & (harmed.metric != primary.name)]
        note = (
            "; but not enough data to rule out "
            + ", ".join(
                f"{g.metric} worse than its {g.tolerance:.0%} tolerance "
                f"(interval {g.rel_ci_low:+.1%} to {g.rel_ci_high:+.1%})"
                for g in unsure.itertuples()
            )
            if len(unsure)
            else ""
        )
        if len(also):
            note += (
                "; but "
                + ", ".join(f"{r.metric} {r.rel_diff:+.1%}" for r in also.itertuples())
                + " got significantly worse"
            )
        return {
            "decision": "ship",
            "variant": best.variant,
            "reason": f"{primary.name} {best.rel_diff:+.1%} for {best.variant} "
            f"(adjusted p = {best.p_value_adjusted:.2g}), no guardrail failed{note}",
        }
    if len(bad_guard):
        g = bad_guard.iloc[0]
        return {
            "decision": "don't ship",
            "variant": g.variant,
            "reason": f"guardrail {g.metric} degraded {g.rel_diff:+.1%} for {g.variant}, beyond its {g.tolerance:.0%} tolerance",
        }
    if len(harmed):
        w = harmed.iloc[0]
        return {
            "decision": "don't ship",
            "variant": w.variant,
            "reason": f"{w.metric} {w.rel_diff:+.1%} for {w.variant} (adjusted p = {w.p_value_adjusted:.2g}) "
            f"and no significant gain in {primary.name}",
        }
    r = p.iloc[0] if len(p) else None
    detail = (
        f": {primary.name} {r.rel_diff:+.1%}, interval {r.rel_ci_low:+.1%} to {r.rel_ci_high:+.1%}"
        if r is not None
        else ""
    )
    return {
        "decision": "inconclusive",
        "variant": None,
        "reason": f"no significant difference at alpha {alpha:g}{detail}",
    }


def cumulative(
    daily: pd.DataFrame, metric: MetricDef, control: str, alpha: float = 0.05
) -> pd.DataFrame:
    """Cumulative lift by day of assignment: ``daily`` holds sufficient statistics per ``variant``
    and ``day``; each day's row uses every unit assigned up to that day."""
    cols = [c for c in daily.columns if c.startswith(f"{metric.name}__")]
    out = []
    for _v, g in daily.groupby("variant"):
        g = g.sort_values("day").copy()
        g[cols] = g[cols].cumsum()
        out.append(g)
    cum = pd.concat(out)
    rows = []
    for day, g in cum.groupby("day"):
        if set(g.variant) >= {control} and len(g) > 1:
            for c in compare(g.drop(columns="day"), [metric], control, alpha):
                rows.append(
                    {
                        "day": day,
                        "variant": c.variant,
                        "rel_diff": c.rel_diff,
                        "rel_ci_low": c.rel_ci_low,
                        "rel_ci_high": c.rel_ci_high,
                    }
                )
    return pd.DataFrame(rows)


def segment_table(
    ss_by: pd.DataFrame, metric: MetricDef, control: str, segment: str, alpha: float = 0.05
) -> pd.DataFrame:
    """The metric's comparison within each value of ``segment`` (unadjusted; exploratory)."""
    rows = []
    for val, g in ss_by.groupby(segment, dropna=False):
        if control not in set(g.variant) or g.variant.nunique() < 2:
            continue
        for c in compare(g.drop(columns=segment), [metric], control, alpha):
            rows.append(
                {
                    "segment": segment,
                    "value": "(none)" if pd.isna(val) else str(val),
                    "variant": c.variant,
                    "n": c.n_control + c.n_treatment,
                    "control_value": c.control_value,
                    "treatment_value": c.treatment_value,
                    "rel_diff": c.rel_diff,
                    "rel_ci_low": c.rel_ci_low,
                    "rel_ci_high": c.rel_ci_high,
                    "p_value": c.p_value,
                }
            )
    return pd.DataFrame(rows)


_PHRASES = {
    "srm_ok": {
        "en": "Sample ratio check passed (p = {p}): {counts}.",
        "zh": "样本比例检查通过（p = {p}）：{counts}。",
    },
    "srm_bad": {
        "en": "Sample ratio MISMATCH (p = {p}): {counts}. The verdict is blocked until the assignment is fixed.",
        "zh": "样本比例不匹配（p = {p}）：{counts}。在分流问题修复前不给出结论。",
    },
    "metric": {
        "en": "{metric}: {variant} {tv} vs control {cv} ({rel}, 95% CI {lo} to {hi}; adjusted p = {p}).",
        "zh": "{metric}：{variant} 为 {tv}，对照组 {cv}（{rel}，95% 区间 {lo} 至 {hi}；校正后 p = {p}）。",
    },
    "guard": {
        "en": "Guardrail {metric} for {variant}: {status} ({rel}, tolerance -{tol}).",
        "zh": "护栏指标 {metric}（{variant}）：{status}（{rel}，容忍度 -{tol}）。",
    },
    "verdict": {"en": "Verdict: {decision} — {reason}.", "zh": "结论：{decision} — {reason}。"},
}
DECISION_ZH = {"ship": "上线", "don't ship": "不上线", "inconclusive": "尚无定论"}


def findings(
    cmp: pd.DataFrame,
    srm_result: dict,
    guards: pd.DataFrame,
    decision: dict,
    lang: str = "en",
    fmt_value=None,
) -> list[str]:
    """Plain-language findings generated from the numbers, verdict last."""
    from analysis_lib.present.report import fmt

    fmt_value = fmt_value or (lambda m, v: fmt(v, "ratio"))

    def ph(k, **kw):
        return _PHRASES[k][lang].format(**kw)

    counts = ", ".join(f"{k} {v:,}" for k, v in srm_result["counts"].items())
    out = [
        ph(
            "srm_bad" if decision["reason"].startswith("sample ratio") else "srm_ok",
            p=f"{srm_result['p_value']:.3g}",
            counts=counts,
        )
    ]
    for _, r in cmp.iterrows():
        out.append(
            ph(
                "metric",
                metric=r.metric,
                variant=r.variant,
                tv=fmt_value(r.metric, r.treatment_value),
                cv=fmt_value(r.metric, r.control_value),
                rel=fmt(r.rel_diff, "signed_pct"),
                lo=fmt(r.rel_ci_low, "signed_pct"),
                hi=fmt(r.rel_ci_high, "signed_pct"),
                p=f"{r.p_value_adjusted:.3g}",
            )
        )
    for _, g in guards.iterrows():
        out.append(
            ph(
                "guard",
                metric=g.metric,
                variant=g.variant,
                status=GUARD_ZH.get(g.status, g.status) if lang == "zh" else g.status,
                rel=fmt(g.rel_diff, "signed_pct"),
                tol=fmt(g.tolerance, "pct"),
            )
        )
    dec = DECISION_ZH[decision["decision"]] if lang == "zh" else decision["decision"]
    out.append(ph("verdict", decision=dec, reason=decision["reason"]))
    return out


def detectable_effect(
    ss: pd.DataFrame, metric: MetricDef, control: str, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """The relative effect on ``metric`` this test could detect with its control's size and
    spread (statsmodels power, via :func:`analysis_lib.analyses.power.mde`); None for ratio metrics or a
    zero baseline."""
    from analysis_lib.analyses import power as PW

    if metric.kind == "ratio":
        return None
    row = ss.set_index("variant").loc[control]
    n = float(row[f"{metric.name}__n"])
    mean = float(row[f"{metric.name}__sy"]) / n
    if n < 2 or mean <= 0:
        return None
    if metric.kind == "proportion":
        return PW.mde("proportion", mean, n, alpha, power)
    sd = math.sqrt(max(float(row[f"{metric.name}__syy"]) / n - mean * mean, 0.0) * n / (n - 1))
    return PW.mde("mean", mean, n, alpha, power, sd=sd)


def missing_summary(ss: pd.DataFrame, metrics: list[MetricDef]) -> dict[str, dict]:
    """Per metric: its rule (``drop`` / ``zero``), the units with a missing value in any column it
    reads (in all and by variant) and the units it counts, from the sufficient statistics."""
    out = {}
    for m in metrics:
        by = dict(zip(ss.variant.astype(str), ss[f"{m.name}__missing"].astype(int), strict=True))
        out[m.name] = {
            "rule": m.missing,
            "columns": m.columns(),
            "units_missing": int(sum(by.values())),
            "units_missing_by_variant": by,
            "units_counted": int(ss[f"{m.name}__n"].sum()),
            "units": int(ss["__units"].sum()),
        }
    return out


def missing_rule_text(m: str, s: dict, lang: str = "en") -> str:
    """How a metric's missing values were handled, in a sentence with the count."""
    cols = ", ".join(s["columns"])
    n, total = s["units_missing"], s["units"]
    if s["rule"] == "zero":
        return (
            f"{m}: {n:,} of {total:,} units miss a value of {cols}; counted as 0 (missing: zero)."
            if lang != "zh"
            else f"{m}：{total:,} 个单位中有 {n:,} 个缺少 {cols} 的值，按 0 计（missing: zero）。"
        )
    return (
        f"{m}: {n:,} of {total:,} units miss a value of {cols}; left out of this metric "
        f"(missing: drop), which counts {s['units_counted']:,} units."
        if lang != "zh"
        else f"{m}：{total:,} 个单位中有 {n:,} 个缺少 {cols} 的值，不计入该指标（missing: drop），"
        f"该指标计 {s['units_counted']:,} 个单位。"
    )


def missing_findings(summary: dict[str, dict], table: str, lang: str = "en") -> list:
    """Data-quality findings (:class:`analysis_lib.core.quality.Finding`) for the metrics' missing
    values: one per metric, with its handling."""
    from analysis_lib.core.quality import Finding

    out = []
    for m, s in summary.items():
        zh = lang == "zh"
        check = (
            f"{m} 的 {', '.join(s['columns'])} 缺失"
            if zh
            else f"missing value in {', '.join(s['columns'])} (metric {m})"
        )
        if s["rule"] == "zero":
            handling = "按 0 计" if zh else "counted as 0 (missing: zero)"
        else:
            handling = "不计入该指标" if zh else "left out of this metric (missing: drop)"
        out.append(Finding(table, check, s["units_missing"], s["units"], handling))
    return out


def record(
    cmp: pd.DataFrame,
    srm_result: dict,
    guards: pd.DataFrame,
    decision: dict,
    *,
    segments: pd.DataFrame | None = None,
    cumulative_lift: pd.DataFrame | None = None,
    missing: dict | None = None,
    plan: dict | None = None,
    mde_primary: float | None = None,
    sequential: bool = False,
    units_in_several_variants: int = 0,
) -> dict:
    """The figures of an A/B report for results.json: everything its summary, tables and charts
    show (comparisons with relative intervals and methods, guardrail statuses, segments, the
    cumulative lift, missing values, the planner's result), not only the verdict."""

    def records(df: pd.DataFrame | None) -> list[dict]:
        return [] if df is None or not len(df) else df.to_dict("records")

    cols = [
        "metric",
        "kind",
        "variant",
        "control_value",
        "treatment_value",
        "abs_diff",
        "rel_diff",
        "ci_low",
        "ci_high",
        "rel_ci_low",
        "rel_ci_high",
        "p_value",
        "p_value_adjusted",
        "n_control",
        "n_treatment",
        "method",
    ]
    return {
        "srm": {"p_value": srm_result["p_value"], "counts": srm_result["counts"]},
        "srm_table": [
            {"variant": v, "units": n, "expected": srm_result["expected"][v]}
            for v, n in srm_result["counts"].items()
        ],
        "srm_chi2": srm_result["chi2"],
        "units": int(sum(srm_result["counts"].values())),
        "units_in_several_variants": units_in_several_variants,
        "metrics": records(cmp[cols]),
        "guardrails": records(guards),
        "segments": records(segments),
        "cumulative": records(cumulative_lift),
        "missing": missing or {},
        "planner": plan,
        "verdict": decision["decision"],
        "verdict_reason": decision["reason"],
        "verdict_variant": decision["variant"],
        "sequential": sequential,
        "mde_primary": mde_primary,
    }
