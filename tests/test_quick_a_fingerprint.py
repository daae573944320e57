"""The data fingerprint in the provenance footer and results.json covers what the run read: an
intervention_impact run reads its series file, not the folder ``data.url`` names, so the four
examples (one folder, four series) show four fingerprints, and one byte changed in the series
changes it."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from analysis_lib import params as P
from analysis_lib.core import data as D

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "params" / "intervention_impact"


def test_the_intervention_examples_have_their_own_fingerprints(monkeypatch):
    monkeypatch.chdir(ROOT)  # series paths are relative to the working directory
    prints = {f.stem: D.run_fingerprint(P.load(f)) for f in sorted(EXAMPLES.glob("*.yaml"))}
    assert len(prints) == 4
    assert len(set(prints.values())) == 4, prints
    assert all(v.startswith("sha256:") for v in prints.values())


def test_one_byte_of_the_series_changes_the_fingerprint(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    series = tmp_path / "series" / "arma_data.csv"
    series.parent.mkdir()
    shutil.copy(ROOT / "analysis_lib/datasets/causalimpact/arma_data.csv", series)
    doc = yaml.safe_load((EXAMPLES / "arma.yaml").read_text())
    doc["series"]["path"] = str(series)
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(doc))
    a = D.run_fingerprint(P.load(f))
    assert a == D.run_fingerprint(P.load(f))
    raw = bytearray(series.read_bytes())
    i = len(raw) // 2
    raw[i] = ord("7") if raw[i] != ord("7") else ord("8")  # same size, one byte other
    series.write_bytes(bytes(raw))
    assert D.run_fingerprint(P.load(f)) != a


def test_a_run_reading_tables_still_covers_the_data_folder(tmp_path):
    """A run that reads the data source (any but intervention_impact) is fingerprinted by it."""
    data = tmp_path / "d"
    data.mkdir()
    (data / "orders.csv").write_text("a\n1\n")

    class Run:  # the duck type run_fingerprint reads
        def __init__(self, files):
            self.data, self.files = str(data), files

        def input_paths(self):
            return self.files

        def tables_read(self):
            return ["orders"]

    ctl = tmp_path / "controls.csv"
    ctl.write_text("x\n1\n")
    a, with_ctl = D.run_fingerprint(Run([])), D.run_fingerprint(Run([str(ctl)]))
    assert a == D.fingerprint(str(data)) and with_ctl != a
    (data / "orders.csv").write_text("a\n2\n")
    assert D.run_fingerprint(Run([str(ctl)])) != with_ctl
