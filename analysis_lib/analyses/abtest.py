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
- optionally always-valid intervals and p-values (:mod:`analysis_lib.analyses.sequential`);
- the verdict (ship, don't ship, inconclusive) by rules stated in :func:`verdict`.

:func:`analyse` runs all of it and returns one typed :class:`AbResult`; the words a report says
about it are in :mod:`analysis_lib.present.narrative.ab_test` (this module holds no words).
"""

from __future__ import annotations

import functools
import math
import weakref
from dataclasses import asdict, dataclass, field
from typing import Literal

import ibis
import numpy as np
import pandas as pd
import sqlglot as sg
import sqlglot.expressions as sge
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from analysis_lib.analyses import abtest_units as U
from analysis_lib.analyses import power as PW
from analysis_lib.analyses import sequential
from analysis_lib.errors import DataError

Kind = Literal["proportion", "mean", "ratio"]
KINDS: tuple[Kind, ...] = ("proportion", "mean", "ratio")
MissingRule = Literal["drop", "zero"]


@dataclass(frozen=True)
class MetricDef:
    """A metric: ``name``, ``kind`` (proportion, mean, ratio), the unit-table ``column`` (or
    ``numerator`` / ``denominator`` for a ratio), ``winsorize`` (upper percentile, e.g. 0.99),
    ``covariate`` (a pre-period column for CUPED; for a ratio optionally over
    ``covariate_denominator``), ``higher_is_better``, ``missing`` (``drop`` or ``zero``)."""

    name: str
    kind: Kind
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    winsorize: float | None = None
    covariate: str | None = None
    higher_is_better: bool = True
    covariate_denominator: str | None = None
    missing: MissingRule = "drop"

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
    ``__syd``, ``__sxc``, ``__sxd``. Computed in the engine in one statement (plus one per
    winsorized metric for its cap); ``execute`` runs an expression (default:
    ``expr.execute()``). For the shop's units (:func:`abtest_units.from_assignments`) the sums
    read only the units with an order and the counts only the units' keys
    (:func:`abtest_units.sparse`): same figures, a few percent of the rows."""
    execute = execute or (lambda e: e.execute())
    keys = ["variant", *(by or [])]
    columns = list(dict.fromkeys(c for m in metrics for c in m.columns()))
    caps = {}
    for m in metrics:
        if m.winsorize:
            t = U.lean(units, {*keys, *columns})
            caps[m.name] = float(execute(_num(t[m.y]).quantile(m.winsorize)))
    # a unit that reads 0 everywhere adds 0 to every sum while the caps keep 0 at 0 and no
    # variable is a constant (a ratio's CUPED without a covariate denominator reads d = 1)
    zero_safe = all(c >= 0 for c in caps.values()) and not any(
        m.kind == "ratio" and m.covariate and not m.covariate_denominator for m in metrics
    )
    shop = U.parts(units)
    # the shop's statement is built once per unit table, keys, metrics and caps: a second call
    # (a report's or a benchmark's) sends the expression the source has compiled already
    memo = _STATEMENTS.setdefault(units, {}) if shop is not None and zero_safe else {}
    key = (tuple(keys), tuple(metrics), tuple(sorted(caps.items())))
    if key not in memo:
        memo[key] = _sql_statement(units, keys, metrics, caps) if zero_safe else None
        if memo[key] is None:  # keys the direct SQL does not know (segments): Ibis's statement
            parts = U.sparse(units, keys, columns) if zero_safe else None
            memo[key] = None if parts is None else _sparse_statement(*parts, keys, metrics, caps)
    if memo[key] is None:
        t = U.lean(units, {*keys, *columns})
        aggs = {k: e for k, (_, e) in _aggregates(t, metrics, caps).items()}
        df = execute(t.group_by(keys).aggregate(**aggs))
        if shop is not None:  # the shop's units left out for being in several variants
            df.attrs["units_in_several_variants"] = int(execute(shop.counts)["mixed"].iloc[0])
    else:
        df = _sparse_stats(*memo[key], keys, execute)
    if shop is not None and not int(df["__units"].sum()):
        raise DataError(shop.empty)
    attrs = df.attrs
    df = df.sort_values(keys).reset_index(drop=True)
    df.attrs = {**attrs, "winsorize_caps": caps}
    return df


def _aggregates(t: ibis.Table, metrics: list[MetricDef], caps: dict) -> dict[str, tuple]:
    """The aggregations of :func:`sufficient_stats` over ``t``, each with its kind: ``count``
    (every unit), ``complete`` (units with every value the metric reads) or ``sum`` (0 for a
    unit reading 0 everywhere)."""
    aggs = {"__units": ("count", t.count())}
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
        aggs[f"{m.name}__missing"] = ("sum", incomplete.ifelse(1, 0).sum().coalesce(0))
        y = raw["y"] if m.missing == "drop" else raw["y"].fill_null(0)
        if m.name in caps:  # DuckDB's least() skips nulls: cap after the fill, never a null
            y = ibis.least(y, caps[m.name])
        v = {**raw, "y": y}
        if m.missing == "zero":
            v = {k: c.fill_null(0) for k, c in v.items()}
            aggs[f"{m.name}__n"] = ("count", t.count())
        else:  # drop: a unit without every value the metric reads adds nothing
            v = {k: incomplete.ifelse(0.0, c) for k, c in v.items()}
            aggs[f"{m.name}__n"] = ("complete", incomplete.ifelse(0, 1).sum().coalesce(0))
        names, pairs = _vars(m)
        for a in names:
            aggs[f"{m.name}__s{a}"] = ("sum", v[a].sum().coalesce(0))
        for ab in pairs:
            aggs[f"{m.name}__s{ab}"] = ("sum", (v[ab[0]] * v[ab[1]]).sum().coalesce(0))
    return aggs


# a unit table of from_assignments -> {(keys, metrics, caps): (statement, kinds)} (weak: gone
# with the table)
_STATEMENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _sparse_statement(
    every: ibis.Table, bought: ibis.Table, keys: list[str], metrics: list[MetricDef], caps: dict
) -> tuple[ibis.Table, dict[str, str]]:
    """The one statement of :func:`_sparse_stats` and the kind of each of its aggregations: every
    unit's keys (``every``, counted: ``__one`` a unit in one variant, ``__mixed`` in several)
    and the units with an order (``bought``, summed), the two group-bys stacked and added up."""
    aggs = _aggregates(bought, metrics, caps)
    sums = {k: e for k, (kind, e) in aggs.items() if kind == "sum"}
    zero = ibis.literal(0, type="int64")
    counted = every.group_by(keys).aggregate(
        __w=every["__one"].sum(),
        __m=every["__mixed"].sum(),
        **{k: ibis.literal(0, type=e.type()) for k, e in sums.items()},
    )
    summed = bought.group_by(keys).aggregate(__w=zero, __m=zero, **sums)
    both = counted.union(summed)
    cols = ["__w", "__m", *sums]
    statement = both.group_by(keys).aggregate(**{k: both[k].sum() for k in cols})
    return statement, {k: kind for k, (kind, _) in aggs.items()}


def _kinds(metrics: list[MetricDef]) -> dict[str, str]:
    """The kind of each column of :func:`sufficient_stats` (as :func:`_aggregates` gives them,
    in its order) without building an expression."""
    kinds = {"__units": "count"}
    for m in metrics:
        kinds[f"{m.name}__missing"] = "sum"
        kinds[f"{m.name}__n"] = "count" if m.missing == "zero" else "complete"
        names, pairs = _vars(m)
        kinds.update({f"{m.name}__s{a}": "sum" for a in [*names, *pairs]})
    return kinds


def _sql_statement(
    units: ibis.Table, keys: list[str], metrics: list[MetricDef], caps: dict
) -> tuple[ibis.Table, dict[str, str]] | None:
    """The statement of :func:`_sparse_statement` in SQL built directly from the shop's parts
    (:func:`abtest_units.sparse_sql`): the same sums of the units with an order and counts of
    every unit, stacked and added up, with no value missing (the shop's units have every value:
    ``__missing`` columns are left out and read 0). As an Ibis table of the backend
    (``backend.sql`` with its schema given: no round trip). None where ``sparse_sql`` is."""
    columns = list(dict.fromkeys(c for m in metrics for c in m.columns()))
    got = U.sparse_sql(units, keys, columns)
    if got is None:
        return None
    ctes, every, bought, backend = got

    # every node is built where it is used (a tree shares none): written without a copy
    def col(name):
        return sg.column(name, quoted=True)

    def alias(e, name):
        return sge.alias_(e, name, quoted=True, copy=False)

    def cast(e, to):
        return sge.Cast(this=e, to=sge.DataType(this=to))

    def value(m, var):
        name = {"y": m.y, "x": m.denominator, "c": m.covariate, "d": m.covariate_denominator}
        v = col(name[var])  # a double already (sparse_sql)
        if var == "y" and m.name in caps:
            v = sge.Least(this=v, expressions=[sge.convert(caps[m.name])])
        return v

    def product(m, ab):
        return sge.Mul(this=value(m, ab[0]), expression=value(m, ab[1]))

    sums = {}  # column -> a function building its per-unit value
    for m in metrics:
        names, pairs = _vars(m)
        for a in names:
            sums[f"{m.name}__s{a}"] = functools.partial(value, m, a)
        for ab in pairs:
            sums[f"{m.name}__s{ab}"] = functools.partial(product, m, ab)

    def grouped(rows, name, *cols):
        sub = rows.subquery(sg.to_identifier(name, quoted=True), copy=False)
        by = [col(c) for c in keys]
        select = sg.select(*(col(c) for c in keys), *cols, copy=False)
        return select.from_(sub, copy=False).group_by(*by, copy=False)

    counted = grouped(
        every,
        "e",
        alias(sge.Sum(this=col("__one")), "__w"),
        alias(sge.Sum(this=col("__mixed")), "__m"),
        *(alias(sge.convert(0.0), c) for c in sums),  # a double with the sums below
    )
    summed = grouped(
        bought,
        "b",
        alias(sge.convert(0), "__w"),
        alias(sge.convert(0), "__m"),
        *(alias(sge.Sum(this=f()), c) for c, f in sums.items()),
    )
    both = sge.union(counted, summed, distinct=False, copy=False)
    statement = grouped(
        both,
        "s",
        *(alias(cast(sge.Sum(this=col(c)), sge.DataType.Type.BIGINT), c) for c in ("__w", "__m")),
        *(alias(sge.Sum(this=col(c)), c) for c in sums),
    )
    for name, q in ctes:
        name = sge.TableAlias(this=sg.to_identifier(name, quoted=True))
        statement = statement.with_(name, as_=q, copy=False)
    a = U.parts(units).a.schema()
    types = {"variant": "string", "day": a["assigned_ts"]}
    schema = {
        **{c: types[c] for c in keys},
        "__w": "int64",
        "__m": "int64",
        **dict.fromkeys(sums, "float64"),
    }
    sql = statement.sql(dialect=backend.compiler.dialect, copy=False)
    return backend.sql(sql, schema=schema), _kinds(metrics)


def _sparse_stats(
    statement: ibis.Table, kinds: dict[str, str], keys: list[str], execute
) -> pd.DataFrame:
    """:func:`sufficient_stats` from the statement of :func:`_sparse_statement` (or of
    :func:`_sql_statement`: a sum it leaves out reads 0), its counts completed.
    ``attrs["units_in_several_variants"]``."""
    df = execute(statement)
    w = df["__w"].to_numpy()
    keep = w > 0  # not the keys of units in several variants only
    w = w[keep]
    cols = {k: df[k].array[keep] for k in keys}
    for k, kind in kinds.items():
        if kind == "count":
            cols[k] = w
        elif kind == "complete":  # a unit reading 0 everywhere has every value
            cols[k] = w - cols[k.removesuffix("__n") + "__missing"]
        elif k in df:
            cols[k] = df[k].to_numpy()[keep]
        else:
            cols[k] = np.zeros(len(w), dtype=w.dtype)
    out = pd.DataFrame(cols)  # built at once: a column set at a time costs milliseconds
    out.attrs["units_in_several_variants"] = int(df["__m"].sum())
    return out


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
    kind: Kind
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


@dataclass(frozen=True)
class SrmResult:
    """The sample-ratio check: chi-square ``p_value`` and ``chi2`` of the observed ``counts`` per
    variant against the ``expected`` ones from the planned split; below ``threshold`` the
    assignment is broken (a sample ratio mismatch) and no effect can be trusted."""

    p_value: float
    chi2: float
    counts: dict[str, int]
    expected: dict[str, float]
    threshold: float = 0.001

    @property
    def mismatch(self) -> bool:
        """Whether the split is off beyond chance (a missing p-value is no evidence of it)."""
        return bool(self.p_value < self.threshold)


def srm(
    counts: dict[str, int], planned: dict[str, float] | None = None, threshold: float = 0.001
) -> SrmResult:
    """Sample-ratio mismatch: chi-square of the observed units per variant against the planned
    split (equal when not given)."""
    variants = sorted(counts)
    obs = np.array([counts[v] for v in variants], dtype=float)
    w = np.array([(planned or {}).get(v, 1.0) for v in variants], dtype=float)
    exp = obs.sum() * w / w.sum()
    chi2, p = stats.chisquare(obs, exp)
    return SrmResult(
        p_value=float(p),
        chi2=float(chi2),
        counts={v: int(c) for v, c in zip(variants, obs, strict=True)},
        expected={v: float(e) for v, e in zip(variants, exp, strict=True)},
        threshold=threshold,
    )


GuardStatus = Literal["passed", "failed", "not enough data"]
GUARD_PASSED: GuardStatus = "passed"
GUARD_FAILED: GuardStatus = "failed"
GUARD_UNSURE: GuardStatus = "not enough data"


@dataclass(frozen=True)
class Guardrail:
    """A metric that must not get worse by more than ``tolerance`` (relative)."""

    metric: str
    tolerance: float


@dataclass(frozen=True)
class GuardrailResult:
    """A guardrail's reading for one treatment variant: its relative change with the interval,
    the tolerance, and the ``status`` those give (see :func:`guardrail_status`)."""

    metric: str
    variant: str
    rel_diff: float
    rel_ci_low: float
    rel_ci_high: float
    tolerance: float
    status: GuardStatus


def guardrail_status(
    comparisons: list[Comparison], guardrails: list[Guardrail], metrics: dict[str, MetricDef]
) -> list[GuardrailResult]:
    """Per guardrail and variant, from the interval of the relative change (a non-inferiority
    reading): ``failed`` when the whole interval lies beyond the tolerance in the bad direction,
    ``passed`` when the whole interval lies within it (a degradation beyond the tolerance is ruled
    out), else ``not enough data`` (the interval crosses the tolerance, or there is none): such a
    guardrail has not shown the metric safe, whatever its estimate."""
    out = []
    for g in guardrails:
        sign = 1 if metrics[g.metric].higher_is_better else -1
        for r in (c for c in comparisons if c.metric == g.metric):
            # the interval's ends in the good direction: worst (lower) and best (upper)
            worst = r.rel_ci_low if sign > 0 else -r.rel_ci_high
            best = r.rel_ci_high if sign > 0 else -r.rel_ci_low
            if np.isfinite(best) and best < -g.tolerance:
                status = GUARD_FAILED
            elif np.isfinite(worst) and worst >= -g.tolerance:
                status = GUARD_PASSED
            else:
                status = GUARD_UNSURE
            out.append(
                GuardrailResult(
                    g.metric,
                    r.variant,
                    r.rel_diff,
                    r.rel_ci_low,
                    r.rel_ci_high,
                    g.tolerance,
                    status,
                )
            )
    return out


Decision = Literal["ship", "don't ship", "inconclusive"]
# which rule gave the decision: a sample ratio mismatch, a significant gain of the primary metric,
# a failed guardrail, a significant harm without a gain, or no significant difference
Basis = Literal["srm", "gain", "guardrail_failed", "harm", "no_difference"]


@dataclass(frozen=True)
class Verdict:
    """Whether to ship, and what it rests on (the words are the narrative's).

    Attributes:
        decision: ship, don't ship or inconclusive (results.json's ``verdict``).
        basis: the rule that decided (see :func:`verdict`).
        variant: the variant to ship or not to ship (None when inconclusive).
        comparison: the comparison it rests on: the shipped variant's primary metric (gain), the
            metric that got worse (harm), the failed guardrail's metric, or the primary metric's
            first comparison (no difference).
        guardrail: the failed guardrail (guardrail_failed).
        waiting_for: guardrails of the shipped variant with not enough data: ship only after
            each has enough data (its interval within the tolerance).
        also_worse: other metrics of the shipped variant that got significantly worse.
    """

    decision: Decision
    basis: Basis
    variant: str | None = None
    comparison: Comparison | None = None
    guardrail: GuardrailResult | None = None
    waiting_for: tuple[GuardrailResult, ...] = ()
    also_worse: tuple[Comparison, ...] = ()

    @property
    def conditional(self) -> bool:
        """A ship that must wait for guardrails to have enough data."""
        return self.decision == "ship" and bool(self.waiting_for)


def verdict(
    comparisons: list[Comparison],
    primary: MetricDef,
    srm_result: SrmResult,
    guards: list[GuardrailResult],
    alpha: float,
    metrics: dict[str, MetricDef] | None = None,
) -> Verdict:
    """Ship, don't ship or inconclusive, from the numbers, in this order:

    1. a sample ratio mismatch blocks (inconclusive): the assignment is broken;
    2. ship the variant whose primary metric improves most among those that improve significantly
       (adjusted p below ``alpha``) without a failed guardrail; its guardrails with not enough data
       are named (``waiting_for``): ship only once they have enough data;
    3. don't ship on a failed guardrail;
    4. don't ship on a significant harm to any metric without a significant gain in the primary;
    5. otherwise inconclusive: the data cannot tell.
    """
    if srm_result.mismatch:
        return Verdict("inconclusive", "srm")
    metrics = metrics or {}

    def good(c: Comparison) -> int:  # +1 when higher is better for the comparison's metric
        return 1 if metrics.get(c.metric, primary).higher_is_better else -1

    def significant(c: Comparison) -> bool:
        return bool(c.p_value_adjusted < alpha)

    harmed = [c for c in comparisons if significant(c) and good(c) * c.abs_diff < 0]
    failed = [g for g in guards if g.status == GUARD_FAILED]
    prim = [c for c in comparisons if c.metric == primary.name]
    better = [
        c
        for c in prim
        if significant(c)
        and good(c) * c.abs_diff > 0
        and c.variant not in {g.variant for g in failed}
    ]
    if better:
        best = max(
            better, key=lambda c: good(c) * c.rel_diff if np.isfinite(c.rel_diff) else -np.inf
        )
        return Verdict(
            "ship",
            "gain",
            best.variant,
            best,
            waiting_for=tuple(
                g for g in guards if g.variant == best.variant and g.status == GUARD_UNSURE
            ),
            also_worse=tuple(
                c for c in harmed if c.variant == best.variant and c.metric != primary.name
            ),
        )
    if failed:
        g = failed[0]
        c = next(c for c in comparisons if c.metric == g.metric and c.variant == g.variant)
        return Verdict("don't ship", "guardrail_failed", g.variant, c, guardrail=g)
    if harmed:
        return Verdict("don't ship", "harm", harmed[0].variant, harmed[0])
    return Verdict("inconclusive", "no_difference", None, prim[0] if prim else None)


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


NO_VALUE = "(none)"  # the segment value of units without one


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
                    "value": NO_VALUE if pd.isna(val) else str(val),
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


MDE_POWER = 0.8  # the power at which a report states the effect its test could detect


def detectable_effect(
    ss: pd.DataFrame,
    metric: MetricDef,
    control: str,
    alpha: float = 0.05,
    power: float = MDE_POWER,
) -> float | None:
    """The relative effect on ``metric`` this test could detect with its control's size and
    spread (statsmodels power, via :func:`analysis_lib.analyses.power.mde`); None for ratio metrics or a
    zero baseline."""
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


@dataclass(frozen=True)
class Missing:
    """A metric's missing values: its ``rule`` (``drop``: left out of the metric; ``zero``:
    counted as 0), the ``columns`` it reads, the units missing a value of any of them (in all and
    by variant), the units the metric counts and the units in all."""

    rule: MissingRule
    columns: list[str]
    units_missing: int
    units_missing_by_variant: dict[str, int]
    units_counted: int
    units: int


def missing_summary(ss: pd.DataFrame, metrics: list[MetricDef]) -> dict[str, Missing]:
    """Per metric, its missing values (:class:`Missing`), from the sufficient statistics."""
    out = {}
    for m in metrics:
        by = dict(zip(ss.variant.astype(str), ss[f"{m.name}__missing"].astype(int), strict=True))
        out[m.name] = Missing(
            rule=m.missing,
            columns=m.columns(),
            units_missing=int(sum(by.values())),
            units_missing_by_variant=by,
            units_counted=int(ss[f"{m.name}__n"].sum()),
            units=int(ss["__units"].sum()),
        )
    return out


Correction = Literal["holm", "bh", "none"]


@dataclass(frozen=True)
class AbSpec:
    """What to test: the ``metrics`` (the first is the primary one, which decides), the
    ``control`` variant, ``guardrails``, the level ``alpha``, the multiple-testing ``correction``,
    the sample-ratio ``srm_threshold`` and ``planned_split``, ``segments`` to break the primary
    metric down by, always-valid ``sequential`` inference (tightest at
    ``sequential_planned_units``) and the ``planner`` of the next test."""

    metrics: tuple[MetricDef, ...]
    control: str = "control"
    guardrails: tuple[Guardrail, ...] = ()
    alpha: float = 0.05
    correction: Correction = "holm"
    srm_threshold: float = 0.001
    planned_split: dict[str, float] | None = None
    segments: tuple[str, ...] = ()
    sequential: bool = False
    sequential_planned_units: int | None = None
    planner: PW.PlannerSpec | None = None

    @property
    def primary(self) -> MetricDef:
        return self.metrics[0]

    def columns(self) -> list[str]:
        """The unit-table columns the metrics read."""
        return sorted({c for m in self.metrics for c in m.columns()})


@dataclass
class AbResult:
    """Everything an A/B report shows, computed once (results.json records it through
    :func:`record`; cards, findings, tables and charts read it)."""

    spec: AbSpec
    srm: SrmResult
    comparisons: list[Comparison]
    guardrails: list[GuardrailResult]
    verdict: Verdict
    segments: pd.DataFrame
    cumulative: pd.DataFrame
    missing: dict[str, Missing]
    mde_primary: float | None
    plan: PW.PlannedTest | None = None
    units_in_several_variants: int = 0
    winsorize_caps: dict[str, float] = field(default_factory=dict)

    @property
    def primary(self) -> MetricDef:
        return self.spec.primary

    @property
    def metrics(self) -> dict[str, MetricDef]:
        return {m.name: m for m in self.spec.metrics}

    @property
    def units(self) -> int:
        return int(sum(self.srm.counts.values()))

    def of(self, metric: str) -> list[Comparison]:
        """The comparisons of one metric (one per treatment variant)."""
        return [c for c in self.comparisons if c.metric == metric]


def analyse(units: ibis.Table, spec: AbSpec, execute=None, notes: dict | None = None) -> AbResult:
    """The whole test from a unit table (see :mod:`analysis_lib.analyses.abtest_units`): sufficient
    statistics in the engine, the sample-ratio check, every metric against control with adjusted
    p-values, guardrails, the verdict, the primary metric by segment and by day of assignment, the
    effect the test could detect, missing values and the planner's result. ``notes`` are those of
    the unit table (units left out for being in several variants)."""
    metrics = list(spec.metrics)
    primary = spec.primary
    ss = sufficient_stats(units, metrics, execute=execute)
    counts = dict(zip(ss.variant, ss["__units"].astype(int), strict=True))  # every unit
    srm_result = srm(counts, spec.planned_split, spec.srm_threshold)
    seq_n = (spec.sequential_planned_units or sum(counts.values())) if spec.sequential else None
    comparisons = adjust(compare(ss, metrics, spec.control, spec.alpha, seq_n), spec.correction)
    mdefs = {m.name: m for m in metrics}
    guards = guardrail_status(comparisons, list(spec.guardrails), mdefs)
    segs = [
        segment_table(
            sufficient_stats(units, [primary], [s], execute=execute),
            primary,
            spec.control,
            s,
            spec.alpha,
        )
        for s in spec.segments
    ]
    cum = (
        cumulative(
            sufficient_stats(units, [primary], ["day"], execute=execute),
            primary,
            spec.control,
            spec.alpha,
        )
        if "day" in units.columns
        else pd.DataFrame()
    )
    return AbResult(
        spec=spec,
        srm=srm_result,
        comparisons=comparisons,
        guardrails=guards,
        verdict=verdict(comparisons, primary, srm_result, guards, spec.alpha, mdefs),
        segments=pd.concat(segs, ignore_index=True) if segs else pd.DataFrame(),
        cumulative=cum,
        missing=missing_summary(ss, metrics),
        mde_primary=detectable_effect(ss, primary, spec.control, spec.alpha),
        plan=PW.plan(spec.planner, spec.alpha, len(counts)) if spec.planner else None,
        units_in_several_variants=int(
            (notes or {}).get("units_in_several_variants")
            or ss.attrs.get("units_in_several_variants", 0)
        ),
        winsorize_caps=dict(ss.attrs.get("winsorize_caps", {})),
    )


def record(result: AbResult, verdict_reason: str) -> dict:
    """The figures of an A/B report for results.json: everything its summary, tables and charts
    show (comparisons with relative intervals and methods, guardrail statuses, segments, the
    cumulative lift, missing values, the planner's result), not only the verdict.
    ``verdict_reason`` is the narrative's sentence for the verdict (words are not computed here)."""

    def records(df: pd.DataFrame) -> list[dict]:
        return df.to_dict("records") if len(df) else []

    s, v = result.srm, result.verdict
    return {
        "srm": {"p_value": s.p_value, "counts": s.counts},
        "srm_table": [
            {"variant": k, "units": n, "expected": s.expected[k]} for k, n in s.counts.items()
        ],
        "srm_chi2": s.chi2,
        "units": result.units,
        "units_in_several_variants": result.units_in_several_variants,
        "metrics": [asdict(c) for c in result.comparisons],
        "guardrails": [asdict(g) for g in result.guardrails],
        "segments": records(result.segments),
        "cumulative": records(result.cumulative),
        "missing": {k: asdict(m) for k, m in result.missing.items()},
        "planner": asdict(result.plan) if result.plan else None,
        "verdict": v.decision,
        "verdict_reason": verdict_reason,
        "verdict_variant": v.variant,
        "sequential": result.spec.sequential,
        "mde_primary": result.mde_primary,
    }
