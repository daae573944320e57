import json

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
