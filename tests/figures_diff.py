"""Compare the results.json figures of two report folders: ``python -m tests.figures_diff A B``.

Used to show a refactor changed no figure: every example's figures in ``A`` and ``B`` must be equal,
floats to 1e-9 relative (DuckDB's parallel float sums differ in the 16th digit between any two
runs). Prints each difference as ``report: path: old -> new``; exit 1 when there is one.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def diff(a, b, path: str = "") -> list[str]:
    """Differences between two JSON values, each as ``path: a -> b``."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: {a.get(k, '<missing>')!r} -> {b.get(k, '<missing>')!r}")
            else:
                out += diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items -> {len(b)} items"]
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in diff(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, int | float) and not isinstance(b, bool):
        if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return []
    elif a == b:
        return []
    return [f"{path}: {a!r} -> {b!r}"]


def compare(old: Path, new: Path) -> list[str]:
    """Every difference between the figures of the reports under ``old`` and ``new``."""
    out = []
    olds = {p.relative_to(old).parent: p for p in old.glob("*/*/results.json")}
    news = {p.relative_to(new).parent: p for p in new.glob("*/*/results.json")}
    for name in sorted(set(olds) | set(news)):
        if name not in olds or name not in news:
            out.append(f"{name}: only in {'new' if name in news else 'old'}")
            continue
        a = json.loads(olds[name].read_text())["figures"]
        b = json.loads(news[name].read_text())["figures"]
        out += [f"{name}: {d}" for d in diff(a, b)]
    return out


if __name__ == "__main__":
    found = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(found) or "all figures equal")
    sys.exit(1 if found else 0)
