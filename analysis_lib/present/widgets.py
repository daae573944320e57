"""Interactive explorers for analysts in JupyterLab (ipywidgets). Notebooks call them only when
:func:`analysis_lib.present.blocks.interactive` is true, and tag the cell ``explorer`` so that the report
never shows them; under papermill they do nothing."""

from __future__ import annotations

import matplotlib.pyplot as plt
from IPython.display import display

from analysis_lib.analyses import funnel as F
from analysis_lib.present.charts import funnel as FC
from analysis_lib.present.narrative import funnel as N


def funnel_explorer(src, spec: F.FunnelSpec, start, end, breakdowns: list[str]):
    """Choose steps and a breakdown; the funnel and the breakdown heatmap redraw (in the
    report's language and words, from the context the bootstrap set)."""
    import ipywidgets as W

    steps = W.SelectMultiple(
        options=list(spec.steps), value=list(spec.steps), description="steps", rows=len(spec.steps)
    )
    by = W.Dropdown(options=["(none)", *breakdowns], value="(none)", description="breakdown")
    out = W.Output()

    def redraw(*_):
        chosen = [s for s in spec.steps if s in steps.value]
        with out:
            out.clear_output(wait=True)
            if len(chosen) < 2:
                print("choose at least two steps")
                return
            sub = spec.with_steps(tuple(chosen))
            FC.funnel_bars(F.funnel(src, sub, start, end), N.unit(sub))
            if by.value != "(none)":
                bt = F.breakdown_table(src, sub, start, end, by.value)
                names = {v: N.segment(by.value, v) for v in bt.index}
                FC.breakdown_heatmap(bt, N.by_name(by.value), names)
            plt.show()

    steps.observe(redraw, "value")
    by.observe(redraw, "value")
    redraw()
    box = W.VBox([W.HBox([steps, by]), out])
    display(box)
    return box


def planner(
    kind: str = "proportion",
    baseline: float = 0.1,
    mde_rel: float = 0.05,
    daily_units: float = 1000,
    sd: float | None = None,
):
    """Sliders for baseline, effect wanted, daily traffic and power; the plan updates."""
    import ipywidgets as W

    from analysis_lib.analyses import power

    b = W.FloatText(value=baseline, description="baseline")
    m = W.FloatSlider(
        value=mde_rel,
        min=0.005,
        max=0.5,
        step=0.005,
        description="MDE (rel.)",
        readout_format=".1%",
    )
    d = W.FloatText(value=daily_units, description="units/day")
    p = W.FloatSlider(value=0.8, min=0.5, max=0.99, step=0.01, description="power")
    s = W.FloatText(value=sd or 1.0, description="sd (means)")
    out = W.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            try:
                plan = power.sample_size(
                    kind, b.value, m.value, power=p.value, sd=s.value, daily_units=d.value
                )
                print(
                    f"{plan.n_per_variant:,} units per variant, {plan.total_units:,} in all, {plan.days} days"
                )
            except ValueError as exc:
                print(exc)

    for w in (b, m, d, p, s):
        w.observe(redraw, "value")
    redraw()
    box = W.VBox([b, m, d, p, s, out])
    display(box)
    return box


def what_if(fc, months, target: float):
    """Sliders for traffic, conversion and AOV changes; GMV against target and P(reach) update."""
    import ipywidgets as W

    from analysis_lib.analyses import target_setting as T

    sliders = {
        k: W.FloatSlider(
            value=0.0, min=-0.3, max=0.5, step=0.01, description=k, readout_format="+.0%"
        )
        for k in ("uv", "conversion", "aov")
    }
    out = W.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            s = T.scenarios(
                fc,
                months,
                target,
                [{"name": "what-if", **{k: w.value for k, w in sliders.items()}}],
            ).iloc[0]
            print(
                f"GMV {s.gmv:,.0f} (median; {s.vs_target:+.1%} against target), P(reach) {s.p_reach_target:.0%}"
            )

    for w in sliders.values():
        w.observe(redraw, "value")
    redraw()
    box = W.VBox([*sliders.values(), out])
    display(box)
    return box
