"""End to end through the CLI: a good run, bad inputs that change nothing, a failing notebook
that keeps the last good report, and run-all in parallel."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from tests.test_kpi import pandas_kpis

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e

# a backstop only: no run here comes near it, even on a loaded 2-core machine (a timeout that
# fires kills the CLI alone; run-all and run end their children whatever kills them)
CLI_TIMEOUT = 3600


def workbook(*args, env=None, cwd=ROOT, **kw):
    return subprocess.run(
        [sys.executable, "-m", "analysis_lib.run.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=CLI_TIMEOUT,
        **kw,
    )


def run_examples_in_both_languages(tmp: Path, runs: dict[str, str], data: Path) -> Path:
    """Run the example params ``params/<notebook>/<name>.yaml`` of ``runs`` on ``data``, each in
    English and in Chinese, with one run-all under ``tmp``; returns its reports folder."""
    import yaml

    for nb, name in runs.items():
        doc = yaml.safe_load((ROOT / "params" / nb / f"{name}.yaml").read_text())
        doc["data"]["url"] = str(data)
        for lang in ("en", "zh"):
            p = tmp / "params" / nb / f"{name}_{lang}.yaml"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(yaml.safe_dump(doc | {"lang": lang}, allow_unicode=True))
    r = workbook("run-all", "params", "--out", "reports", cwd=tmp)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return tmp / "reports"


def staging_leftovers(out: Path) -> list[Path]:
    """Whatever runs left in the hidden staging areas (none once they have ended)."""
    return list(out.glob("*/.staging*/**/*"))


def params_file(tmp_path, data, name="q4", **over) -> Path:
    doc = {
        "notebook": "kpi_monitor",
        "title": "KPI <script>alert(1)</script> test",
        "data": {"url": str(data)},
        "period": {"start": "2025-10-01", "end": "2025-12-31"},
        "lang": "en",
        "grain": "week",
    } | over
    p = tmp_path / f"{name}.yaml"
    p.write_text(json.dumps(doc))
    return p


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def good_run(tmp_path_factory, sample_dir):
    tmp = tmp_path_factory.mktemp("run")
    p = params_file(tmp, sample_dir)
    out = tmp / "reports"
    r = workbook("run", p, "--out", out)
    assert r.returncode == 0, r.stderr
    return out / "kpi_monitor" / "q4", r


def test_good_run_writes_report_results_and_index(good_run):
    d, r = good_run
    assert {"report.html", "executed.ipynb", "results.json"} <= {p.name for p in d.iterdir()}
    assert "report.html" in r.stdout
    index = (d.parent.parent / "index.html").read_text()
    assert "kpi_monitor/q4/report.html" in index
    assert "&lt;script&gt;" in index and "<script>alert" not in index


def test_results_say_where_the_run_spent_its_time(good_run):
    """results.json ``timings``: the phases' wall seconds and the CPU seconds of the process that
    ran papermill (the CLI's own, not its kernel's: benchmarks/cold_run.py splits a cold run's CPU
    with it); ``queries``: the statements the report sent."""
    d, _ = good_run
    res = json.loads((d / "results.json").read_text())
    t = res["timings"]
    assert {"validate_s", "kernel_and_overhead_s", "cells_s", "render_s", "runner_cpu_s"} <= set(t)
    assert 0 < t["runner_cpu_s"] < 600
    assert res["queries"]["queries"] > 0


def test_results_figures_equal_pandas(good_run, sample_dir):
    d, _ = good_run
    res = json.loads((d / "results.json").read_text())
    assert res["status"] == "ok"
    assert set(res) >= {
        "notebook",
        "name",
        "status",
        "started_at",
        "duration_s",
        "params",
        "data",
        "code_version",
        "figures",
    }
    assert res["data"]["fingerprint"].startswith("sha256:")
    import datetime as dt

    want = pandas_kpis(sample_dir, dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    for k in ["gmv", "orders", "buyers", "aov", "uv", "conversion_rate", "refund_rate"]:
        assert res["figures"][k] == pytest.approx(want[k], rel=1e-9), k


def test_report_has_no_code_no_script_no_network(good_run):
    d, _ = good_run
    html = (d / "report.html").read_text()
    assert (
        'class="jp-InputArea' not in html and 'class="jp-InputPrompt' not in html
    )  # no code cells
    assert "import " not in html and "kpi.kpi_totals" not in html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "data:image/png;base64" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the title is escaped
    assert "u0000" not in html  # no user ids
    # summary first: the summary block comes before any chart
    assert html.index("wb-summary") < html.index("data:image/png")


def test_report_css_holds_only_rules_that_can_match(good_run):
    """The lab template's stylesheet (about 250 KB of JupyterLab's) is cut to what the page can
    use: no rule for a widget the report does not have, every rule for a class it has."""
    d, _ = good_run
    html = (d / "report.html").read_text()
    css = "".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
    assert ".jp-OutputArea-output" in css and ".wb-card" in css and "--jp-" in css
    assert ".jp-FileBrowser" not in css and ".jp-Toolbar" not in css
    assert len(css) < 120_000, len(css)


def test_prune_css_keeps_what_can_match_and_drops_the_rest():
    """Rules for classes the page does not have go, and custom properties nothing reads; what can
    apply stays (classes under :not(), rules without a class, properties read through others)."""
    from analysis_lib.run.css import prune_css

    css = (
        ":root { --x: var(--y); --y: 1px; --unused: url(data:a;b); }\n"
        "/* a comment { with braces } */\n"
        "@font-face { font-family: F; src: url('f.woff'); }\n"
        "body, .absent { margin: 0; }\n"
        ".used p { color: red; margin: var(--x); }\n"
        ".used.absent { color: blue; }\n"
        ".absent .used { color: green; }\n"
        ".used:not(.absent) { font-weight: bold; }\n"
        '.used::after { content: "}{"; }\n'
        "[data-x='.absent'] { top: 0; }\n"
        "@media (max-width: 600px) { .absent { left: 0; } .also { right: 0; } }\n"
        "@media print { .absent { left: 0; } }\n"
    )
    page = (
        f'<html><head><style type="text/css">{css}</style></head>'
        "<body><div class=\"used x\"><p class='also'>.absent</p></div></body></html>"
    )
    out = re.search(r"<style[^>]*>(.*?)</style>", prune_css(page), re.S).group(1)
    for kept in (
        "--x: var(--y)",
        "--y: 1px",
        "@font-face",
        "body, .absent",
        ".used p",
        ".used:not(.absent)",
        'content: "}{"',
        "[data-x='.absent']",
        "@media (max-width: 600px){.also{ right: 0; }}",
    ):
        assert kept in out, kept
    for dropped in (
        ".used.absent",
        ".absent .used",
        "@media print",
        "{ left: 0; }",
        "comment",
        "--unused",
    ):
        assert dropped not in out, dropped
    assert prune_css(page).endswith("<p class='also'>.absent</p></div></body></html>")


def test_injected_params_cell_not_in_report(good_run):
    d, _ = good_run
    html = (d / "report.html").read_text()
    nb = nbformat.read(d / "executed.ipynb", as_version=4)
    tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
    assert "injected-parameters" in tags
    assert "Parameters" not in html and "injected" not in html


@pytest.mark.parametrize(
    "case, expected",
    [
        ("typo", "unknown key 'grian'"),
        ("missing_folder", "data.url: folder not found"),
        ("no_gmv", "table 'orders' is missing required column 'gmv'"),
        ("reversed", "field 'period': end 2025-09-30 is before start 2025-10-01"),
    ],
)
def test_bad_input_one_line_nonzero_exit_reports_untouched(
    good_run, tmp_path, sample_dir, case, expected
):
    d, _ = good_run
    out = d.parent.parent
    before = tree_digest(out)
    if case == "typo":
        p = params_file(tmp_path, sample_dir, name="q4")
        doc = json.loads(p.read_text())
        doc["grian"] = doc.pop("grain")
        p.write_text(json.dumps(doc))
    elif case == "missing_folder":
        p = params_file(tmp_path, tmp_path / "nowhere", name="q4")
    elif case == "no_gmv":
        bad = tmp_path / "bad_data"
        bad.mkdir()
        for t in ["events", "targets"]:
            src = sample_dir / t
            (bad / t).symlink_to(src if src.exists() else sample_dir / f"{t}.parquet")
        pd.read_parquet(sample_dir / "orders").drop(columns="gmv").to_parquet(
            bad / "orders.parquet"
        )
        p = params_file(tmp_path, bad, name="q4")
    else:
        p = params_file(
            tmp_path, sample_dir, name="q4", period={"start": "2025-10-01", "end": "2025-09-30"}
        )
    r = workbook("run", p, "--out", out)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert expected in lines[0]
    assert tree_digest(out) == before


def test_validate_checks_without_running(tmp_path, sample_dir):
    p = params_file(tmp_path, sample_dir)
    r = workbook("validate", p)
    assert r.returncode == 0 and r.stdout.startswith("ok:")
    assert not (tmp_path / "reports").exists()


def test_failing_notebook_keeps_last_good_report(tmp_path, sample_dir, cli_env):
    """Run once with the real notebook, then with a notebook that raises: the first report stays,
    the failed executed notebook is kept beside it, the index shows the failure."""
    out = tmp_path / "reports"
    p = params_file(tmp_path, sample_dir, name="keep")
    assert workbook("run", p, "--out", out).returncode == 0
    good = out / "kpi_monitor" / "keep"
    before = tree_digest(good)

    nbdir = _notebook_dir(tmp_path, "raise ValueError('planted failure in cell two')")
    env = cli_env | {"WORKBOOK_NOTEBOOKS": str(nbdir)}
    r = workbook("run", p, "--out", out, env=env)
    assert r.returncode == 4
    assert "ValueError: planted failure in cell two" in r.stderr.splitlines()[0]
    assert tree_digest(good) == before
    failed = out / "kpi_monitor" / "keep.failed"
    assert (failed / "executed.ipynb").exists() and not (failed / "report.html").exists()
    assert json.loads((failed / "results.json").read_text())["status"] == "failed"
    index = (out / "index.html").read_text()
    assert "FAILED" in index and "kpi_monitor/keep/report.html" in index
    assert not staging_leftovers(out)
    kept = r.stderr.splitlines()[1].split(" in ", 1)[1].split(";")[0]
    assert Path(kept).is_file() and Path(kept).parent == failed


def test_run_all_in_parallel(tmp_path, sample_dir):
    pdir = tmp_path / "params"
    pdir.mkdir()
    for i, grain in enumerate(["day", "week", "month", "week"]):
        params_file(pdir, sample_dir, name=f"p{i}", grain=grain, lang="zh" if i % 2 else "en")
    out = tmp_path / "reports"
    r = workbook("run-all", pdir, "--out", out, "--jobs", "4")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 ok, 0 failed" in r.stdout
    for i in range(4):
        assert (out / "kpi_monitor" / f"p{i}" / "report.html").exists()
    # determinism: same params, same data -> same figures
    f1 = json.loads((out / "kpi_monitor" / "p1" / "results.json").read_text())["figures"]
    f3 = json.loads((out / "kpi_monitor" / "p3" / "results.json").read_text())["figures"]
    assert f1 == f3


def test_run_all_reports_invalid_files_and_exits_nonzero(tmp_path, sample_dir):
    pdir = tmp_path / "params"
    pdir.mkdir()
    params_file(pdir, sample_dir, name="good")
    (pdir / "bad.yaml").write_text("notebook: kpi_monitor\n")
    r = workbook("run-all", pdir, "--out", tmp_path / "reports")
    assert r.returncode == 1
    assert "1 ok, 1 failed" in r.stdout
    assert "missing key 'title'" in r.stdout


def test_second_run_of_same_params_refuses_while_locked(good_run, tmp_path, sample_dir):
    from filelock import FileLock

    from analysis_lib.run import runner

    d, _ = good_run
    out = d.parent.parent
    before = tree_digest(out)
    p = params_file(tmp_path, sample_dir, name="q4")
    with FileLock(str(runner._lock_path(out, "kpi_monitor", "q4"))):
        r = workbook("run", p, "--out", out)
    assert r.returncode == 4
    assert "another run of kpi_monitor/q4 is in progress" in r.stderr.strip().splitlines()[0]
    assert tree_digest(out) == before


def test_sigkill_midway_leaves_last_good_report(tmp_path, sample_dir):
    import os
    import signal
    import time

    out = tmp_path / "reports"
    p = params_file(tmp_path, sample_dir, name="kill")
    assert workbook("run", p, "--out", out).returncode == 0
    good = out / "kpi_monitor" / "kill"
    before = tree_digest(good)
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis_lib.run.cli", "run", str(p), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(3.0)  # validated, kernel started, notebook executing
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert tree_digest(good) == before
    assert {x.name for x in good.iterdir()} == {"report.html", "executed.ipynb", "results.json"}
    # the next run cleans the killed run's staging folder and succeeds
    assert workbook("run", p, "--out", out).returncode == 0
    assert not staging_leftovers(out)


def _notebook_dir(tmp_path, code: str) -> Path:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = nbformat.v4.new_code_cell("params = {}")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, nbdir / "kpi_monitor.ipynb")
    return nbdir


def test_cell_past_its_timeout_fails_cleanly(tmp_path, sample_dir, cli_env):
    out = tmp_path / "reports"
    p = params_file(tmp_path, sample_dir, name="slow")
    assert workbook("run", p, "--out", out).returncode == 0
    good = out / "kpi_monitor" / "slow"
    before = tree_digest(good)
    env = cli_env | {
        "WORKBOOK_NOTEBOOKS": str(_notebook_dir(tmp_path, "import time\ntime.sleep(60)"))
    }
    r = workbook("run", p, "--out", out, "--timeout", "3", env=env)
    assert r.returncode == 4
    assert (
        "kpi_monitor/slow:" in r.stderr.splitlines()[0]
        and "timed out" in r.stderr.splitlines()[0].lower()
    )
    assert tree_digest(good) == before
    assert "FAILED" in (out / "index.html").read_text()


def test_failed_write_keeps_last_good_report(tmp_path, sample_dir, monkeypatch):
    from analysis_lib.run import runner

    out = tmp_path / "reports"
    p = params_file(tmp_path, sample_dir, name="disk")
    assert runner.run(p, out=out).status == "ok"
    good = out / "kpi_monitor" / "disk"
    before = tree_digest(good)

    def full_disk(staging, final):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "_swap_in", full_disk)
    r = runner.run(p, out=out)
    assert r.status == "failed" and "No space left on device" in r.error
    assert tree_digest(good) == before
    assert not staging_leftovers(out)


def test_warm_kernel_has_imported_before_the_first_cell(tmp_path, sample_dir, cli_env):
    """`workbook run` starts the kernel first and has it import the heavy libraries while the
    CLI validates; the import is silent, so cell numbers in errors are unchanged."""
    code = "import sys\nassert 'analysis_lib.present.charts' in sys.modules, 'not preloaded'\nraise ValueError('x')"
    env = cli_env | {"WORKBOOK_NOTEBOOKS": str(_notebook_dir(tmp_path, code))}
    p = params_file(tmp_path, sample_dir, name="warm")
    r = workbook("run", p, "--out", tmp_path / "reports", env=env)
    assert r.returncode == 4
    # cells: parameters (1), injected parameters (2), the code (3)
    assert "cell 3 failed: ValueError: x" in r.stderr.splitlines()[0], r.stderr


def test_the_run_client_is_ready_and_the_kernel_stopped_without_fixed_waits(tmp_path):
    """papermill's client (kernel.ReadyClient) is ready as soon as its kernel answers: on a
    running, idle kernel well under the 0.2 s that jupyter_client's wait_for_ready always waits
    for IOPub to go quiet (0.2-0.6 s of every report in which nothing runs), and the kernel then
    runs code through it. A kernel asked to stop is seen gone within a few ms of its exit, not
    at jupyter_client's next 0.1 s poll (a forked kernel, as run-all's, exits in about 30 ms)."""
    import asyncio
    import time

    from analysis_lib.run.kernel import IsolatedKernelManager, ReadyClient

    out: list[dict] = []

    async def check() -> tuple[list[float], list[float]]:
        waits, stops = [], []
        for _ in range(2):
            km = IsolatedKernelManager(kernel_name="python3")
            await km.start_kernel(cwd=str(tmp_path))
            try:
                for _ in range(2):
                    kc = km.client()
                    assert isinstance(kc, ReadyClient)
                    kc.start_channels()
                    t0 = time.perf_counter()
                    await kc.wait_for_ready(timeout=60)
                    waits.append(time.perf_counter() - t0)
                    reply = await kc.execute_interactive(
                        "print(6 * 7)", timeout=60, output_hook=out.append
                    )
                    assert reply["content"]["status"] == "ok"
                    kc.stop_channels()
                t0 = time.perf_counter()
                await km.shutdown_kernel()  # asked, as papermill does
                stops.append(time.perf_counter() - t0)
                assert not await km.is_alive()
            finally:
                if await km.is_alive():
                    await km.shutdown_kernel(now=True)
        return waits, stops

    from analysis_lib.run.zygote import Zygote

    with Zygote():  # kernels forked as under run-all
        waits, stops = asyncio.run(check())
    assert min(waits) < 0.19, waits
    assert min(stops) < 0.095, stops
    assert any(m.get("content", {}).get("text") == "42\n" for m in out), out
