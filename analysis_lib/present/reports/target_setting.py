"""The sections of the target setting report, each one call from the notebook: the summary
(title line, figures recorded for results.json and the index, cards, findings, what to do), the
forecast, the driver tree, the SMART targets, the what-if scenarios and the method notes. Words
come from :mod:`analysis_lib.present.narrative.target_setting`."""

from __future__ import annotations

import pandas as pd

from analysis_lib.analyses.target_setting import TargetPlan
from analysis_lib.present import blocks
from analysis_lib.present.charts import base as chart_base
from analysis_lib.present.charts import target as target_charts
from analysis_lib.present.narrative import target_setting as N
from analysis_lib.present.tables import table
from analysis_lib.present.words import value

HEADLINE = ["target_total", "baseline_forecast_total", "p_reach_target", "required_uplift"]


def figures(p: TargetPlan, targets_written: bool) -> dict:
    """The run's figures for results.json, each computed once in :mod:`analyses.target_setting`.
    ``baseline_forecast_total`` is the median of the simulated years (the card's figure),
    ``baseline_mean`` their mean; the driver tree's base and its relation to the forecast are
    recorded so a test can check (1 + uplift_on_last12) = (1 + baseline_change_on_last12) x
    (1 + required_uplift)."""
    f, tree = p.feasibility, p.tree
    return {
        "baseline_forecast_total": f.baseline,
        "baseline_mean": f.mean,
        "baseline_lo": f.ci_low,
        "baseline_hi": f.ci_high,
        "model": p.forecast.model,
        "monthly_targets": {k.strftime("%Y-%m"): v for k, v in p.monthly.items()},
        # the card's: with actuals of the year, the actual plus the forecast of the rest
        "p_reach_target": N.p_reach(p),
        "p_reach_baseline": f.p_reach,
        "required_uplift": f.required_uplift,
        "target_total": f.target,
        "targets_written": targets_written,
        "last12_gmv": tree.base_gmv,
        "uplift_on_last12": tree.uplift_on_base,
        "baseline_change_on_last12": tree.baseline_change,
        "monthly_quantile": p.split.quantile,
        "shared_on_last12": tree.shared_on_base(),
        "shared_beyond_baseline": tree.spread(),
    } | ytd_figures(p)


def ytd_figures(p: TargetPlan) -> dict:
    """The year so far, when the data holds complete months of the target year."""
    y = p.ytd
    if y is None:
        return {}
    return {
        "actual_to_date": y.actual,
        "target_to_date": y.target,
        "forecast_to_date": y.forecast,
        "forecast_to_date_lo": y.ci_low,
        "forecast_to_date_hi": y.ci_high,
        "months_to_date": y.months,
        "rest_target": y.rest_target,
        "rest_forecast": y.rest_forecast,
        "outlook_total": y.outlook,
        "outlook_lo": y.outlook_lo,
        "outlook_hi": y.outlook_hi,
    }


def summary(run, p: TargetPlan) -> None:
    """Title line, the recorded figures, cards and findings, then what to do."""
    owner = value("owner", run.P.owners.get("gmv", ""))  # a known role in the report's language
    blocks.record_figures(figures(p, run.P.write_targets is not None), headline=HEADLINE)
    blocks.show(
        blocks.title_block(run.P.title_text, N.period_line(p), N.compared_text(p), run.last_day),
        blocks.summary_block(N.cards(p, owner), N.findings(p)),
        blocks.actions_block(N.actions(p), N.no_action_reason(p)),
    )


def forecast(p: TargetPlan) -> None:
    """History and forecast chart; per month of the target year the forecast median, interval,
    target and, where the data has it, the actual."""
    level = N.level_text(p.feasibility.level)
    fc = p.forecast.table
    blocks.show(blocks.section(N.w("section.forecast"), N.forecast_lead(p)))
    blocks.figure(
        target_charts.forecast_chart(
            p.history["gmv"], fc, p.monthly, level, actual=p.actual.dropna()
        ),
        N.forecast_alt(p),
    )
    tab = fc.loc[p.months, ["median", "ci_low", "ci_high"]].assign(
        target=p.monthly.to_numpy(), actual=p.actual.to_numpy()
    )
    tab = tab.reset_index(names="month")
    tab["month"] = tab["month"].dt.strftime("%Y-%m")
    cols = ["month", "median", "ci_low", "ci_high", "target"]
    cols += ["actual"] if tab["actual"].notna().any() else []
    blocks.show(
        table(
            tab[cols],
            {c: "money" for c in cols[1:]},
            {c: N.w(f"column.{c}", level=level) for c in cols},
        )
    )


def drivers(p: TargetPlan) -> None:
    """The driver tree from its stated base, and the drivers' monthly history."""
    tree = p.tree
    blocks.show(blocks.section(N.drivers_title(p), N.drivers_lead(p)))
    keys = [d.key for d in tree.drivers]
    hist = p.history.reset_index(names="bucket")
    blocks.figure(chart_base.kpi_trend(hist, keys, ncols=min(4, len(keys))), N.drivers_alt(p, keys))
    df = pd.DataFrame(
        {
            "driver": [N.metric_label(d.key) for d in tree.drivers],
            "base": [N.driver_value(d.key, d.base) for d in tree.drivers],
            "needed": [N.driver_value(d.key, d.needed) for d in tree.drivers],
            "change_rel": [d.change_rel for d in tree.drivers],
            "shared": [
                N.driver_value(d.key, v)
                for d, v in zip(tree.drivers, tree.shared_levels(), strict=True)
            ],
            "shared_rel": [tree.shared_on_base()] * len(tree.drivers),
        }
    )
    blocks.show(
        table(
            df,
            {"change_rel": "signed_pct", "shared_rel": "signed_pct"},
            {c: N.w(f"column.{c}") for c in df.columns},
        )
    )


def targets(run, p: TargetPlan) -> None:
    """The SMART targets: the year, its months, its channels and categories."""
    t_ = p.targets
    shown = t_.assign(
        metric=[N.metric_label(m) for m in t_.metric],
        dimension=[
            N.w(f"dimension.{d}") if isinstance(d, str) else N.w("dimension.total")
            for d in t_.dimension
        ],
        dimension_value=[
            value(d, v) if isinstance(v, str) else ""
            for d, v in zip(t_.dimension, t_.dimension_value, strict=True)
        ],
        owner=[value("owner", o) if isinstance(o, str) else o for o in t_.owner],
    )
    cols = [
        "period",
        "metric",
        "dimension",
        "dimension_value",
        "target_value",
        "owner",
        "deadline",
        "resources",
    ]
    blocks.show(
        blocks.section(N.w("section.targets"), N.targets_lead(p, run.P.write_targets)),
        table(shown[cols], {"target_value": "money"}, {c: N.w(f"column.{c}") for c in cols}),
    )


def scenarios(p: TargetPlan) -> None:
    """The what-if scenarios of the params (nothing without any)."""
    s = p.scenarios
    if s.empty:
        return
    blocks.show(
        blocks.section(N.w("section.scenarios"), N.w("section.scenarios_lead")),
        table(
            s,
            {"factor": "ratio", "gmv": "money", "vs_target": "signed_pct", "p_reach_target": "pct"},
            {c: N.w(f"column.{c}") for c in s.columns},
        ),
    )


def method(p: TargetPlan) -> None:
    blocks.show(blocks.method_block(N.method_notes(p)))
