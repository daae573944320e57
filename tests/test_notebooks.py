"""Notebooks read as the analysis: bootstrap in one call, computation, one presentation call per
section. No words (bilingual literals), no formatting code, under about 40 lines of code, no
outputs committed (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
MAX_LINES = 45  # "under about 40": code lines outside the parameters cell, comments aside
CJK = re.compile(r"[\u4e00-\u9fff]")
FORMATTING = re.compile(r"\b(fmt|format_\w+|strftime|to_html)\(|\bL\(|f\"|f'|\.format\(")


def code_lines(nb) -> list[str]:
    return [
        line
        for c in nb.cells
        if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])
        for line in c.source.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin_and_holds_no_words_or_formatting(path):
    nb = nbformat.read(path, as_version=4)
    lines = code_lines(nb)
    assert len(lines) <= MAX_LINES, f"{path.name}: {len(lines)} lines of code"
    for line in lines:
        assert not CJK.search(line), f"{path.name}: words belong in the catalog: {line}"
        assert not FORMATTING.search(line), f"{path.name}: formatting belongs in present/: {line}"
    assert any("bootstrap.start(" in line for line in lines), path.name
    assert any(re.search(r"\.finish\(run\b", line) for line in lines), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None, path.name
