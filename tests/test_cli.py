import json
import tempfile

from analysis_lib.run import cli
from analysis_lib.run.cli import longest_first


def test_run_all_starts_the_longest_runs_first(tmp_path):
    params, out = tmp_path / "params", tmp_path / "reports"
    files = []
    for nb, name in [
        ("kpi_monitor", "a"),
        ("funnel", "b"),
        ("market_analysis", "c"),
        ("kpi_monitor", "d"),
    ]:
        f = params / nb / f"{name}.yaml"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")
        files.append(f)
    # no history: the guess by notebook (funnel first, unknown notebooks last)
    assert [f.stem for f in longest_first(files, out)] == ["b", "a", "d", "c"]
    # with history: each report's last duration, failed runs included
    for nb, name, secs in [("kpi_monitor", "a", 3.0), ("market_analysis", "c", 30.0)]:
        d = out / nb / name
        d.mkdir(parents=True)
        (d / "results.json").write_text(json.dumps({"duration_s": secs}))
    (out / "kpi_monitor" / "d.failed").mkdir(parents=True)
    (out / "kpi_monitor" / "d.failed" / "results.json").write_text('{"duration_s": 12.5}')
    assert [f.stem for f in longest_first(files, out)] == ["c", "d", "b", "a"]


def test_an_unexpected_import_error_leaves_no_log_in_the_data_folder(tmp_path, monkeypatch, capsys):
    """An import's --out is a data folder: a traceback log written there would make the next
    import refuse it as not empty. The log goes to the system's temporary directory instead."""
    import analysis_lib.ingest as ingest

    def boom(*a, **k):
        raise RuntimeError("a library's surprise")

    monkeypatch.setattr(ingest, "run_import", boom)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "shop"
    out.mkdir()
    src = tmp_path / "orders.csv"
    src.write_text("Name\n#1\n")
    assert cli.main(["import", "shopify", str(src), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unexpected RuntimeError" in err
    assert list(out.iterdir()) == []
    assert str(tmp_path / "tmp") in err
