"""Benchmark: the intervention engine, 1,000 MCMC iterations on a 365-day series with three
controls (300 days before the intervention, 65 after).

    python benchmarks/causal.py [--days 365] [--controls 3] [--repeat 3]

Times :func:`analysis_lib.analyses.causal.estimate` (the Gibbs sampler of R CausalImpact's model) and, in
the same run on the same series, the engine it replaced (maximum likelihood with a Laplace
approximation, 1,000 simulated paths), read from git history at ``OLD_ENGINE_COMMIT`` so that the
ratio is measured, not remembered. Target: under 10 s on 2 cores. Prints the machine's load
average first: figures taken under load say so.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _common import best_of  # noqa: E402

from analysis_lib.analyses import causal  # noqa: E402

OLD_ENGINE_COMMIT = "f47d4f1"  # the last commit with the maximum-likelihood engine


def series(days: int, k: int, seed: int = 0):
    """A daily series driven by ``k`` random-walk controls, a slowly drifting level and noise,
    with a planted effect of +2 per day after the intervention."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=days, freq="D")
    X = pd.DataFrame(
        {f"x{j}": 100 + np.cumsum(rng.normal(0, 1, days)) for j in range(k)}, index=idx
    )
    w = np.linspace(1.0, 0.3, k)
    y = X.to_numpy() @ w + np.cumsum(rng.normal(0, 0.05, days)) + rng.normal(0, 1, days)
    t = idx[int(days * 300 / 365)]
    y = pd.Series(y, index=idx)
    y[idx >= t] += 2.0
    return y, X, t


def old_engine():
    """The replaced engine's module from git history, or None where git or the commit is not
    available (a source tarball)."""
    try:
        src = subprocess.run(
            ["git", "show", f"{OLD_ENGINE_COMMIT}:analysis_lib/causal.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "old_causal.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("old_causal", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["old_causal"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--controls", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    load = os.getloadavg()[0]
    print(
        f"load average (1 min) {load:.2f}"
        + ("" if load < 0.5 else ": the machine is busy, the figures below are taken under load")
    )
    y, X, t = series(a.days, a.controls)
    new_s, imp = best_of(lambda: causal.estimate(y, t, X, niter=1000, seed=0), a.repeat)
    s = imp.summary
    print(
        f"new engine (Gibbs, 1,000 iterations): {new_s:6.2f} s  "
        f"cumulative effect {s.estimate:,.1f} [{s.ci_low:,.1f}, {s.ci_high:,.1f}] "
        f"(planted {2.0 * len(imp.actual):,.1f})"
    )
    old = old_engine()
    if old is None:
        print("old engine: not available (no git history); ratio not measured")
        return
    old_s, old_imp = best_of(lambda: old.estimate(y, t, X, n_sims=1000, seed=0), a.repeat)
    o = old_imp.summary
    print(
        f"old engine (ML + Laplace, 1,000 paths): {old_s:6.2f} s  "
        f"cumulative effect {o['estimate']:,.1f} [{o['ci_low']:,.1f}, {o['ci_high']:,.1f}]"
    )
    print(f"new / old time: {new_s / old_s:.2f}x")


if __name__ == "__main__":
    main()
