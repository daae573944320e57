"""Charts of the impact report."""

from __future__ import annotations

import matplotlib.pyplot as plt

from analysis_lib.present.charts.base import PALETTE


def impact_chart(imp) -> plt.Figure:
    """Three panels as in CausalImpact: actual against the counterfactual, the pointwise effect and
    the cumulative effect, each with its band."""
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    s, pre = imp.series, imp.pre_fit
    ax = axes[0]
    ax.plot(pre.index, pre["actual"], color="#0f172a", linewidth=1)
    ax.plot(s.index, s["actual"], color="#0f172a", linewidth=1, label="actual")
    ax.plot(s.index, s["predicted"], color=PALETTE[0], linestyle="--", label="counterfactual")
    ax.fill_between(s.index, s["predicted_lo"], s["predicted_hi"], color=PALETTE[0], alpha=0.2)
    ax.legend(loc="upper left")
    for a, (mid, lo, hi) in zip(
        axes[1:],
        [("effect", "effect_lo", "effect_hi"), ("cum_effect", "cum_effect_lo", "cum_effect_hi")],
        strict=True,
    ):
        a.plot(s.index, s[mid], color=PALETTE[1])
        a.fill_between(s.index, s[lo], s[hi], color=PALETTE[1], alpha=0.2)
        a.axhline(0, color="#334155", linewidth=0.8)
        a.set_ylabel({"effect": "pointwise", "cum_effect": "cumulative"}[mid])
    for a in axes:
        a.axvline(s.index[0], color="#94a3b8", linestyle=":")
    fig.tight_layout()
    return fig
