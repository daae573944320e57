"""Charts: the theme, house rules and shared charts (:mod:`.base`) and one module per report.
Each function takes small aggregated frames and returns a matplotlib Figure; none computes a
figure a report shows.

``charts.<name>`` finds a chart in :mod:`.base` or, lazily, in any per-report module, so that
importing this package (the bootstrap does, for :func:`setup`) does not import every report's
charts, and a report module being rewritten cannot break the others' imports. New code imports
the module it needs (``from analysis_lib.present.charts import funnel``).
"""

from __future__ import annotations

import importlib
import pkgutil

from analysis_lib.present.charts.base import (
    PALETTE,
    check,
    cjk_font_path,
    empty_chart,
    grouped_bars,
    heatmap,
    kpi_trend,
    rate_trend,
    setup,
)

__all__ = [
    "PALETTE",
    "check",
    "cjk_font_path",
    "empty_chart",
    "grouped_bars",
    "heatmap",
    "kpi_trend",
    "rate_trend",
    "setup",
]


def __getattr__(name: str):
    """A chart function of a per-report module (``charts.funnel_bars``), or the module itself."""
    if name.startswith("__"):
        raise AttributeError(name)
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        if info.name == name:
            return importlib.import_module(f"{__name__}.{name}")
    broken: list[str] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        try:
            mod = importlib.import_module(f"{__name__}.{info.name}")
        except Exception as e:  # one report's module mid-rewrite: look in the others
            broken.append(f"{info.name} ({type(e).__name__}: {e})")
            continue
        if hasattr(mod, name) and not name.startswith("_"):
            return getattr(mod, name)
    also = f"; modules that failed to import: {', '.join(broken)}" if broken else ""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}{also}")
