"""Shared fixtures: scale-s sample data generated once per session (and data/sample for the
notebooks' defaults, which nbval runs as they are)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SEED = 42


def _current(path: Path, seed: int, version: int) -> bool:
    """Whether ``path`` holds the sample data this generator writes for ``seed``: its truth.json
    states the generator's version (a stale data/sample would otherwise be tested silently)."""
    import json

    try:
        truth = json.loads((path / "truth.json").read_text())
    except (OSError, ValueError):
        return False
    return truth.get("generator_version") == version and truth.get("seed") == seed


def _ensure_sample(path: Path, seed: int) -> Path:
    from analysis_lib.sample import sample_data

    with FileLock(str(path) + ".lock"):
        if not _current(path, seed, sample_data.GENERATOR_VERSION):
            sample_data.generate(path, "s", seed)
    return path


def pytest_sessionstart(session):
    # the notebooks' parameters cells point at ../data/sample
    _ensure_sample(ROOT / "data" / "sample", SAMPLE_SEED)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """Scale-s sample data (seed 42) in data/sample."""
    return _ensure_sample(ROOT / "data" / "sample", SAMPLE_SEED)


@pytest.fixture(scope="session")
def truth(sample_dir) -> dict:
    import json

    return json.loads((sample_dir / "truth.json").read_text())


@pytest.fixture()
def cli_env() -> dict:
    """Environment for running the ``workbook`` CLI in a subprocess."""
    env = dict(os.environ)
    env.pop("WORKBOOK_NOTEBOOKS", None)
    return env


SCREENSHOTS = Path(os.environ.get("WORKBOOK_SCREENSHOTS", ROOT / "test-artifacts" / "screenshots"))


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Chromium (installed from Debian's packages when missing; a loud skip where it
    cannot be)."""
    from tests import browser as B

    got = B.ensure_chromium()
    if isinstance(got, str):
        B.loud_skip(got)
    driver = B.start(*got, tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()
