"""Faults a careless operator or a hostile machine brings: params files that share a report, runs
that overlap, malformed files and dying workers in run-all, signals, the umask, full disks,
read-only folders, odd paths. Each ends in one line and the right exit code, and nothing that
should stay is lost.

Runs here use stand-in notebooks (``WORKBOOK_NOTEBOOKS``) that take the real params: the
machinery is under test, not the analyses, so each run costs a kernel start and no more."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from analysis_lib.run import cli, index, runner
from tests.test_runner import (
    CLI_TIMEOUT,
    ROOT,
    _notebook_dir,
    params_file,
    staging_leftovers,
    tree_digest,
    workbook,
)

# a stand-in notebook: titles starting "slow" leave a mark (the kernel is running) and sleep;
# "kill-worker" kills the process that launched its kernel (a run-all worker, zygote off)
STANDIN = """
import os, pathlib, time
title = params.get("title", "")
marks = os.environ.get("WB_MARKS")
if marks and title.startswith("slow"):
    pathlib.Path(marks, str(os.getpid())).write_text(title)
    time.sleep(float(os.environ.get("WB_SLEEP", "8")))
if title == "kill-worker":
    os.kill(os.getppid(), 9)
    time.sleep(30)
"""

WAIT = 600  # backstop for waiting on a condition; the conditions come within seconds


def _env(tmp_path, cli_env, **extra) -> dict:
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    return (
        cli_env
        | {
            "WORKBOOK_NOTEBOOKS": str(_notebook_dir(tmp_path, STANDIN)),
            "WB_MARKS": str(marks),
            "WB_SLEEP": "8",
        }
        | extra
    )


def _wait_for(cond, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not cond():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def _survivors(marks: Path) -> list[psutil.Process]:
    """Live processes (zombies aside) carrying this test's WB_MARKS: whatever the CLI started,
    down to the kernels, whichever parent they have now."""
    found = []
    for p in psutil.process_iter():
        try:
            if p.pid == os.getpid() or p.status() == psutil.STATUS_ZOMBIE:
                continue
            if p.environ().get("WB_MARKS") == str(marks):
                found.append(p)
        except (psutil.Error, OSError):
            continue
    return found


def _start(args, env) -> subprocess.Popen:
    # a session of its own only so that the finally below can clean up after a failing test;
    # the signal under test goes to the CLI process alone
    return subprocess.Popen(
        [sys.executable, "-m", "analysis_lib.run.cli", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _cleanup(proc: subprocess.Popen, marks: Path) -> None:
    for p in _survivors(marks):
        with contextlib.suppress(psutil.Error):
            p.kill()
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


# --- 1. report identity -------------------------------------------------------------------------


@pytest.mark.e2e
def test_run_all_refuses_two_params_files_that_would_share_a_report(tmp_path, sample_dir, cli_env):
    """north/weekly.yaml and south/weekly.yaml (same notebook) would write one report: both are
    failed rows naming each other, nothing runs for them, the others run, the index is written."""
    pdir = tmp_path / "params"
    for folder in ("north", "south", "kpi_monitor"):
        (pdir / folder).mkdir(parents=True)
    north = params_file(pdir / "north", sample_dir, name="weekly", title="north")
    south = params_file(pdir / "south", sample_dir, name="weekly", title="south")
    params_file(pdir / "kpi_monitor", sample_dir, name="other", title="other")
    out = tmp_path / "reports"
    r = workbook("run-all", pdir, "--out", out, "--jobs", "2", env=_env(tmp_path, cli_env))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 ok, 2 failed" in r.stdout
    for this, other in ((north, south), (south, north)):
        row = r.stdout.splitlines()[
            [i for i, x in enumerate(r.stdout.splitlines()) if x.startswith(str(this))][0] + 1
        ]
        assert row.strip() == (
            f"-> {this}: would write the same report kpi_monitor/weekly as {other}; a report is "
            "named by its notebook and file name: rename one of them (neither was run)"
        )
    assert not (out / "kpi_monitor" / "weekly").exists()
    assert (out / "kpi_monitor" / "other" / "report.html").is_file()
    assert "kpi_monitor/other/report.html" in (out / "index.html").read_text()


@pytest.mark.e2e
def test_run_refuses_to_replace_a_report_made_from_another_params_file(
    tmp_path, sample_dir, cli_env
):
    env = _env(tmp_path, cli_env)
    (tmp_path / "north").mkdir()
    (tmp_path / "south").mkdir()
    north = params_file(tmp_path / "north", sample_dir, name="weekly", title="north")
    south = params_file(tmp_path / "south", sample_dir, name="weekly", title="south")
    out = tmp_path / "reports"
    assert workbook("run", north, "--out", out, env=env).returncode == 0
    before = tree_digest(out)
    r = workbook("run", south, "--out", out, env=env)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"error: {south}: report kpi_monitor/weekly is made from another params file, "
        f"{north.resolve()}; a report is named by its notebook and file name: rename one of the "
        "two files (e.g. south_weekly.yaml)"
    ]
    assert tree_digest(out) == before
    # the same file again is its own report; a file renamed away leaves the report to the other
    assert workbook("run", north, "--out", out, env=env).returncode == 0
    north.unlink()
    assert workbook("run", south, "--out", out, env=env).returncode == 0
    res = json.loads((out / "kpi_monitor" / "weekly" / "results.json").read_text())
    assert res["title"] == "south" and res["params_path"] == str(south.resolve())


# --- 3. staging areas ---------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_run_leaves_the_staging_folder_of_a_run_with_a_longer_name_alone(
    tmp_path, sample_dir, cli_env
):
    """q4.yaml runs while q4-weekly.yaml is executing: before, q4's cleanup removed every
    `.staging-q4-*` folder, q4-weekly's among them, and q4-weekly failed."""
    env = _env(tmp_path, cli_env)
    marks = Path(env["WB_MARKS"])
    out = tmp_path / "reports"
    long = params_file(tmp_path, sample_dir, name="q4-weekly", title="slow")
    short = params_file(tmp_path, sample_dir, name="q4", title="fast")
    proc = _start(["run", long, "--out", out], env)
    try:
        _wait_for(lambda: any(marks.iterdir()) or proc.poll() is not None, "q4-weekly to run")
        assert proc.poll() is None, proc.communicate()
        r = workbook("run", short, "--out", out, env=env)
        assert r.returncode == 0, r.stderr
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
        assert proc.returncode == 0, err
    finally:
        _cleanup(proc, marks)
    for name in ("q4", "q4-weekly"):
        assert (out / "kpi_monitor" / name / "report.html").is_file(), name
    assert not staging_leftovers(out)


def test_a_report_a_killed_run_had_renamed_aside_is_put_back(tmp_path):
    """A run killed between renaming the old report aside and renaming the new one in: the next
    run of that name puts the old one back before anything else."""
    nb_dir = tmp_path / "kpi_monitor"
    old = nb_dir / ".staging" / "weekly" / "old-weekly-4242"
    old.mkdir(parents=True)
    (old / "report.html").write_text("last good")
    dead = nb_dir / ".staging" / "weekly" / "4242-deadbeef"
    dead.mkdir()
    other = nb_dir / ".staging" / "weekly-2" / "4343-cafe"
    other.mkdir(parents=True)
    runner._clean_stale(nb_dir / ".staging" / "weekly", nb_dir, "weekly")
    assert (nb_dir / "weekly" / "report.html").read_text() == "last good"
    assert not any((nb_dir / ".staging" / "weekly").iterdir())
    assert other.is_dir()  # another name's area is never touched


# --- 4. run-all survives one bad file ------------------------------------------------------------


@pytest.mark.e2e
def test_run_all_survives_a_malformed_params_file(tmp_path, sample_dir, cli_env):
    pdir = tmp_path / "params"
    pdir.mkdir()
    params_file(pdir, sample_dir, name="good", title="good")
    bad = pdir / "bad.yaml"
    bad.write_text("notebook: [kpi_monitor]\ntitle: x\n")
    out = tmp_path / "reports"
    r = workbook("run-all", pdir, "--out", out, env=_env(tmp_path, cli_env))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "1 ok, 1 failed" in r.stdout
    lines = r.stdout.splitlines()
    row = lines[[i for i, x in enumerate(lines) if x.startswith(str(bad))][0] + 1]
    assert row.strip().startswith(f"-> {bad}")
    assert "kpi_monitor/good/report.html" in (out / "index.html").read_text()


def test_any_exception_of_one_run_is_its_row(tmp_path, monkeypatch):
    """Whatever a run raises (not only the workbook's own errors) is that file's one-line row."""

    def boom(*a, **k):
        raise KeyError("a key nobody expected\non two lines")

    monkeypatch.setattr(runner, "run", boom)
    path = str(tmp_path / "p.yaml")
    row = cli._run_one(path, None, str(tmp_path / "reports"), 5)
    assert row["status"] == "failed"
    assert row["error"] == f"{path}: KeyError: 'a key nobody expected\\non two lines'"


@pytest.mark.e2e
def test_run_all_survives_a_worker_process_dying(tmp_path, sample_dir, cli_env):
    """A run that kills its worker process (as the out-of-memory killer would) breaks the process
    pool: it fails with one line naming it, the runs around it still run, the index is written."""
    pdir = tmp_path / "params"
    pdir.mkdir()
    for name in ("a", "b"):
        params_file(pdir, sample_dir, name=name, title=name)
    killer = params_file(pdir, sample_dir, name="killer", title="kill-worker")
    out = tmp_path / "reports"
    env = _env(tmp_path, cli_env, WORKBOOK_ZYGOTE="0")  # the kernel is the worker's child
    r = workbook("run-all", pdir, "--out", out, "--jobs", "2", env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 ok, 1 failed" in r.stdout, r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert (
        f"-> {killer}: the process running it died (killed by SIGKILL, e.g. out of memory); "
        f"`workbook run {killer}` shows more" in r.stdout
    )
    html = (out / "index.html").read_text()
    assert "kpi_monitor/a/report.html" in html and "kpi_monitor/b/report.html" in html


# --- 5. signals ---------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name
)
def test_a_signal_to_run_all_ends_everything_it_started(tmp_path, sample_dir, cli_env, signum):
    """The signal goes to the run-all process alone (as systemd, a timeout or a person sends it):
    its workers, their kernels and the zygote end with it, and no report is swapped in later."""
    pdir = tmp_path / "params"
    pdir.mkdir()
    for i in range(3):
        params_file(pdir, sample_dir, name=f"s{i}", title=f"slow {i}")
    env = _env(tmp_path, cli_env)
    marks = Path(env["WB_MARKS"])
    out = tmp_path / "reports"
    proc = _start(["run-all", pdir, "--out", out, "--jobs", "2"], env)
    try:
        _wait_for(lambda: len(list(marks.iterdir())) >= 2 or proc.poll() is not None, "two kernels")
        assert proc.poll() is None, proc.communicate()
        started = time.monotonic()
        family = psutil.Process(proc.pid).children(recursive=True)
        assert len(family) >= 5  # zygote, two workers, two kernels (and a resource tracker)
        os.kill(proc.pid, signum)
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
        _, alive = psutil.wait_procs(family, timeout=60)
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
        _wait_for(lambda: not _survivors(marks), "every process run-all started to end")
        after_kill = tree_digest(out) if out.exists() else ""
        # the stand-in runs would have finished by now and swapped their reports in
        time.sleep(max(0.0, started + float(env["WB_SLEEP"]) + 4 - time.monotonic()))
        assert (tree_digest(out) if out.exists() else "") == after_kill
        assert not list(out.glob("*/*/report.html"))
        if signum == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
        else:
            assert proc.returncode == 128 + signum
            assert err.strip().splitlines()[-1] == (
                f"error: run-all stopped by {signum.name}: every run it started has ended; 0 of 3 "
                "reports were written, the others keep their last good report; the index was not "
                f"rewritten (`workbook index --out {out}`)"
            )
            assert not staging_leftovers(out)
    finally:
        _cleanup(proc, marks)


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_signal_to_workbook_run_ends_its_kernel(tmp_path, sample_dir, cli_env, signum):
    env = _env(tmp_path, cli_env)
    marks = Path(env["WB_MARKS"])
    out = tmp_path / "reports"
    p = params_file(tmp_path, sample_dir, name="w", title="fast")
    assert workbook("run", p, "--out", out, env=env).returncode == 0
    before, report_before = tree_digest(out), tree_digest(out / "kpi_monitor" / "w")
    params_file(tmp_path, sample_dir, name="w", title="slow")
    proc = _start(["run", p, "--out", out], env)
    try:
        _wait_for(lambda: any(marks.iterdir()) or proc.poll() is not None, "the kernel")
        assert proc.poll() is None, proc.communicate()
        started = time.monotonic()
        family = psutil.Process(proc.pid).children(recursive=True)
        assert family
        os.kill(proc.pid, signum)
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
        _, alive = psutil.wait_procs(family, timeout=60)
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
        _wait_for(lambda: not _survivors(marks), "the kernel to end")
        time.sleep(max(0.0, started + float(env["WB_SLEEP"]) + 4 - time.monotonic()))
        if signum == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
            assert tree_digest(out / "kpi_monitor" / "w") == report_before
        else:
            assert proc.returncode == 128 + signum
            assert err.splitlines() == [
                f"error: {p}: stopped by SIGTERM; the notebook's kernel was stopped and the last "
                "good report is as it was"
            ]
            assert tree_digest(out) == before
    finally:
        _cleanup(proc, marks)
    # whatever the signal, the last good report is whole
    assert json.loads((out / "kpi_monitor" / "w" / "results.json").read_text())["title"] == "fast"


# --- 6. permissions -----------------------------------------------------------------------------


@pytest.mark.e2e
def test_reports_and_index_follow_the_umask(tmp_path, sample_dir, cli_env):
    """Under umask 022 others on the file share can read every report: folders 0755, files
    0644 (before: mkdtemp/mkstemp made them 0700 and 0600)."""
    out = tmp_path / "reports"
    p = params_file(tmp_path, sample_dir, name="shared", title="shared")
    r = workbook(
        "run", p, "--out", out, env=_env(tmp_path, cli_env), preexec_fn=lambda: os.umask(0o022)
    )
    assert r.returncode == 0, r.stderr
    report = out / "kpi_monitor" / "shared"
    for d in (out, out / "kpi_monitor", report):
        assert oct(d.stat().st_mode & 0o7777) == oct(0o755), d
    for f in [out / "index.html", *report.iterdir()]:
        assert oct(f.stat().st_mode & 0o7777) == oct(0o644), f


def test_index_follows_a_stricter_umask(tmp_path):
    old = os.umask(0o027)
    try:
        target = index.write(tmp_path)
    finally:
        os.umask(old)
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)


# --- 7. one line, the right exit code, never a traceback --------------------------------------------


def _main(capsys, *args) -> tuple[int, list[str]]:
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("cmd", ["run", "run-all", "index"])
def test_out_naming_a_file_is_one_line(tmp_path, capsys, cmd):
    afile = tmp_path / "notes.txt"
    afile.write_text("not a folder")
    args = {
        "run": ["run", tmp_path / "p.yaml"],
        "run-all": ["run-all", tmp_path],
        "index": ["index"],
    }
    code, err = _main(capsys, *args[cmd], "--out", afile)
    assert (code, err) == (2, [f"error: --out {afile}: not a folder"])
    code, err = _main(capsys, *args[cmd], "--out", afile / "reports")
    assert (code, err) == (2, [f"error: --out {afile}/reports: not a folder ({afile} is a file)"])
    assert afile.read_text() == "not a folder"


@pytest.mark.parametrize("jobs", ["-1", "0", "two"])
def test_run_all_jobs_must_be_a_positive_whole_number(tmp_path, capsys, jobs):
    code, err = _main(capsys, "run-all", tmp_path, "--jobs", jobs)
    assert (code, err) == (
        2,
        [
            f"error: workbook run-all: argument --jobs: must be a whole number of 1 or more, "
            f"not '{jobs}' (see workbook run-all --help)"
        ],
    )


@pytest.mark.parametrize("cmd", ["run", "validate", "run-all"])
def test_a_nul_byte_in_a_path_argument_is_one_line(tmp_path, capsys, cmd):
    what = "params folder" if cmd == "run-all" else "params file"
    code, err = _main(capsys, cmd, "we\0ekly.yaml")
    assert (code, err) == (2, [f"error: {what} 'we\\x00ekly.yaml': contains a NUL byte"])


def test_a_reports_folder_that_cannot_be_written_is_one_line(
    tmp_path, sample_dir, capsys, monkeypatch
):
    """A read-only reports folder (a read-only mount; root ignores permission bits, so the
    file system's answer is simulated): exit 4, one line naming the folder, nothing written."""
    out = tmp_path / "reports"
    out.mkdir()
    p = params_file(tmp_path, sample_dir, name="ro", title="ro")
    real_mkdir = pathlib.Path.mkdir

    def read_only(self, *a, **k):
        if self.is_relative_to(out):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "mkdir", read_only)
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", _notebook_dir(tmp_path, STANDIN))
    code, err = _main(capsys, "run", p, "--out", out)
    assert (code, err) == (
        4,
        [
            f"error: kpi_monitor/ro: cannot write the report under {out}/kpi_monitor: Read-only file system"
        ],
    )
    assert not any(out.iterdir())


def test_a_full_disk_while_writing_the_index_is_one_line_and_leaves_no_temp_file(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "index.html").write_text("the last index")
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(index.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    code, err = _main(capsys, "index", "--out", tmp_path)
    monkeypatch.undo()
    assert (code, err) == (
        4,
        [f"error: {tmp_path}/index.html: cannot write the index: No space left on device"],
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]
    assert (tmp_path / "index.html").read_text() == "the last index"


def test_a_report_that_could_not_be_written_points_at_no_missing_folder(
    tmp_path, sample_dir, capsys, monkeypatch
):
    """Before: "the failed notebook is kept for debugging in <name>.failed/executed.ipynb",
    a folder that was never written."""
    out = tmp_path / "reports"
    p = params_file(tmp_path, sample_dir, name="disk", title="disk")

    def full_disk(staging, final):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runner, "_swap_in", full_disk)
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", _notebook_dir(tmp_path, STANDIN))
    code, err = _main(capsys, "run", p, "--out", out)
    assert (code, err) == (
        4,
        [
            f"error: kpi_monitor/disk: cannot write the report under {out}/kpi_monitor: "
            "No space left on device"
        ],
    )
    assert not (out / "kpi_monitor" / "disk.failed").exists()
    assert not staging_leftovers(out)


def test_an_unexpected_error_is_one_line_with_the_traceback_in_a_log(tmp_path, capsys, monkeypatch):
    def broken(a):
        raise RuntimeError("something nobody foresaw\nin two lines")

    monkeypatch.setattr(cli, "cmd_index", broken)
    monkeypatch.delenv("WORKBOOK_DEBUG", raising=False)
    code, err = _main(capsys, "index", "--out", tmp_path)
    logs = list((tmp_path / ".logs").iterdir())
    assert (code, err) == (
        1,
        [
            "error: unexpected RuntimeError: something nobody foresaw in two lines "
            f"(traceback in {logs[0]})"
        ],
    )
    assert "Traceback" in logs[0].read_text() and "def broken" not in err
    assert "in broken" in logs[0].read_text()
    # the index ignores the log folder
    assert index.collect(tmp_path) == []
    monkeypatch.setenv("WORKBOOK_DEBUG", "1")
    code, err = _main(capsys, "index", "--out", tmp_path)
    assert code == 1 and err[0] == "Traceback (most recent call last):"


def test_the_executed_notebook_keeps_no_password(tmp_path):
    """The executed notebook kept beside the report holds the injected params the kernel
    connected with: a password in the data URL is masked there after the run, like everywhere
    else; a URL without one leaves the file as it was."""
    import nbformat

    url = "postgres://analyst:s3cret-pw@pg.internal:5432/shop"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f'params = {{"data": {{"url": "{url}"}}}}'),
        nbformat.v4.new_code_cell("connect()", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text=f"could not reach {url}\n")
        ]),
    ]  # fmt: skip
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, str(path))
    runner._scrub_secrets(path, url)
    text = path.read_text()
    assert "s3cret-pw" not in text and "postgres://analyst:***@pg.internal:5432/shop" in text
    nbformat.validate(nbformat.read(str(path), as_version=4))
    before = path.read_bytes()
    runner._scrub_secrets(path, "/srv/shop")
    assert path.read_bytes() == before


def test_an_interruption_between_the_two_renames_puts_the_old_report_back(tmp_path, monkeypatch):
    """A signal's exception (or any) after the old report was renamed aside and before the new
    one is in puts the old one back: the last good report never goes missing."""
    final = tmp_path / "kpi_monitor" / "q4"
    final.mkdir(parents=True)
    (final / "report.html").write_text("last good")
    staging = tmp_path / "kpi_monitor" / ".staging" / "q4" / "run1"
    staging.mkdir(parents=True)
    (staging / "report.html").write_text("new")
    real = os.replace
    calls = []

    def replace(a, b):
        calls.append((a, b))
        if len(calls) == 2:  # the new report's rename
            raise KeyboardInterrupt
        return real(a, b)

    monkeypatch.setattr(runner.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        runner._swap_in(staging, final)
    monkeypatch.setattr(runner.os, "replace", real)
    assert (final / "report.html").read_text() == "last good"
