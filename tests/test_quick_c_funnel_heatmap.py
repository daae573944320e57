"""The funnel's step-conversion heatmaps: every tick label and the title lie inside the figure,
so the saved image shows each label in full ("rt view → add to cart" was read on a funnel
report). A narrow heatmap (two steps, short segment names) put its first slanted step label and
its title past the figure's left edge; the house-rule check (charts.base.check) names that as
"outside the figure", and here the chart itself must not do it, in English and Chinese."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from analysis_lib.present.blocks import png_bytes  # noqa: E402
from analysis_lib.present.charts import base as C  # noqa: E402
from analysis_lib.present.charts.funnel import breakdown_heatmap  # noqa: E402
from analysis_lib.present.context import use  # noqa: E402

STEPS = ["page_view", "product_view", "add_to_cart", "checkout", "purchase"]
SEGMENTS = {
    "short": ["a", "b", "c"],
    "device": ["app", "desktop", "mobile_web"],
    "long": ["Mobile web app (Android beta)", "x", "y"],
}


def _table(n_steps: int, segments: list[str]) -> pd.DataFrame:
    """``breakdown_table``'s shape: step columns ``"a → b"``, then entered and overall."""
    cols = {
        f"{a} → {b}": [0.41 + 0.01 * i for i in range(len(segments))]
        for a, b in zip(STEPS[: n_steps - 1], STEPS[1:n_steps], strict=True)
    }
    cols.update(entered=[100 * (i + 1) for i in range(len(segments))], overall=[0.19, 0.18, 0.15])
    return pd.DataFrame(cols, index=segments)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("n_steps", [2, 3, 5])
@pytest.mark.parametrize("segments", list(SEGMENTS))
def test_heatmap_labels_inside_the_saved_figure(lang, n_steps, segments):
    C.setup()
    with use(lang=lang, currency="CNY"):
        fig = breakdown_heatmap(_table(n_steps, SEGMENTS[segments]), "device", {})
        try:
            r = fig.canvas.get_renderer()
            w, h = fig.bbox.width, fig.bbox.height
            ax = fig.axes[0]
            texts = [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.title]
            for txt in texts:
                box = txt.get_window_extent(r)
                assert box.x0 >= 0 and box.x1 <= w and box.y0 >= 0 and box.y1 <= h, (
                    f"{txt.get_text()!r} at x {box.x0:.0f}–{box.x1:.0f} of a {w:.0f} px figure"
                )
            assert C.check(fig) == []
            # saved as drawn: cropped to its content plus the save's padding, never widened
            # further for a label past the figure's edge
            pad = 2 * plt.rcParams["savefig.pad_inches"] * fig.dpi + 1
            png = Image.open(io.BytesIO(png_bytes(fig)))
            assert png.width <= w + pad and png.height <= h + pad
        finally:
            plt.close(fig)
