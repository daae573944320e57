"""The code version a report was made with (provenance, results.json)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from analysis_lib import __version__


def code_version() -> str:
    """The package version with the git commit (``-dirty`` when tracked files differ) when the
    code runs from a checkout, else the package version alone."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return f"{__version__}+{rev}{'-dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__
