"""The run-all kernel zygote: forked kernels are preloaded, isolated from each other and from the
zygote, and die, time out and fail like launched ones."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient
from jupyter_client.utils import run_sync

from analysis_lib.run.kernel import IsolatedKernelManager, notebooks_dir
from analysis_lib.run.zygote import Zygote
from tests.test_runner import _notebook_dir, params_file, workbook

pytestmark = pytest.mark.e2e  # kernels started, notebooks run through run-all


def _start(km: IsolatedKernelManager) -> BlockingKernelClient:
    run_sync(km.start_kernel)(cwd=str(notebooks_dir()))
    kc = BlockingKernelClient()
    kc.load_connection_info(km.get_connection_info())
    kc.start_channels()
    kc.wait_for_ready(timeout=600)
    return kc


def _value(kc: BlockingKernelClient, code: str):
    """Run ``code`` and return the JSON its last line prints."""
    out = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, timeout=600, output_hook=hook)
    assert reply["content"]["status"] == "ok", reply["content"]
    return json.loads("".join(out).strip().splitlines()[-1])


PROBE = """
import json, os, sys
import numpy as np
print(json.dumps({"ppid": os.getppid(), "preloaded": "analysis_lib.present.charts" in sys.modules,
                  "pandas": "pandas" in sys.modules, "cwd": os.getcwd(),
                  "x": "x" in globals(), "rand": float(np.random.random())}))
x = 1
"""


def test_forked_kernels_are_preloaded_and_isolated():
    with Zygote() as zy:
        kms = [IsolatedKernelManager(kernel_name="python3") for _ in range(2)]
        kcs = [_start(km) for km in kms]
        try:
            a, b = (_value(kc, PROBE) for kc in kcs)
            for v in (a, b):
                assert v["ppid"] == zy.proc.pid  # forked by the zygote
                assert v["preloaded"] and v["pandas"]  # before any cell imported them
                assert Path(v["cwd"]) == notebooks_dir()
            assert not b["x"] and a["rand"] != b["rand"]  # no state shared
            assert _value(kcs[0], 'print(json.dumps({"x": x}))') == {"x": 1}
            pid = kms[0].provisioner.pid
            assert os.getpgid(pid) == pid  # its own process group: signals never reach the zygote
        finally:
            for kc in kcs:
                kc.stop_channels()
            for km in kms:
                run_sync(km.shutdown_kernel)(now=True)
        assert not run_sync(kms[0].is_alive)()
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists()  # reaped, not a zombie
        assert zy.proc.poll() is None
    assert zy.proc.poll() is not None and not Path(zy.dir).exists()


STANDIN = """
import os, sys, time
assert "analysis_lib.present.charts" in sys.modules, "not forked from the zygote"
if params.get("title") == "die":
    os.kill(os.getpid(), 9)
if params.get("title") == "slow":
    time.sleep(60)
"""


def test_run_all_with_forked_kernels_that_die_or_hang(tmp_path, sample_dir, cli_env):
    """Under run-all every kernel comes from the zygote; one killed and one past its timeout fail
    with one line each, the others succeed."""
    pdir = tmp_path / "params"
    pdir.mkdir()
    for name in ("ok1", "ok2", "die", "slow"):
        params_file(pdir, sample_dir, name=name, title=name)
    env = cli_env | {"WORKBOOK_NOTEBOOKS": str(_notebook_dir(tmp_path, STANDIN))}
    r = workbook("run-all", pdir, "--out", tmp_path / "reports", "--timeout", "5", env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 ok, 2 failed" in r.stdout, r.stdout
    lines = r.stdout.splitlines()
    die = lines[[i for i, x in enumerate(lines) if "die.yaml" in x][0] + 1]
    slow = lines[[i for i, x in enumerate(lines) if "slow.yaml" in x][0] + 1]
    assert "kpi_monitor/die: execution failed" in die and "died" in die.lower(), die
    assert "kpi_monitor/slow:" in slow and "timed out" in slow.lower(), slow


def test_killing_run_all_leaves_no_zygote_or_kernel(tmp_path, sample_dir, cli_env):
    """SIGKILL of run-all mid-run (the CLI and its workers): the zygote and the forked kernels it
    was running end by themselves within seconds."""
    import signal
    import subprocess
    import sys

    import psutil

    from tests.test_runner import ROOT

    pdir = tmp_path / "params"
    pdir.mkdir()
    for name in ("s1", "s2"):
        params_file(pdir, sample_dir, name=name, title="slow")
    env = cli_env | {"WORKBOOK_NOTEBOOKS": str(_notebook_dir(tmp_path, STANDIN))}
    cmd = [sys.executable, "-m", "analysis_lib.run.cli", "run-all", str(pdir)]
    proc = subprocess.Popen(
        [*cmd, "--out", str(tmp_path / "reports")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600  # a backstop: kernels start within seconds
    zygote, kernels = None, []
    while time.monotonic() < deadline and len(kernels) < 2:
        time.sleep(0.2)
        for p in psutil.Process(proc.pid).children(recursive=False):
            if "analysis_lib.run.zygote" in " ".join(p.cmdline()):
                zygote = p
                kernels = zygote.children()
    assert zygote is not None and len(kernels) == 2, "run-all did not fork two kernels"
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its workers; not the zygote's session
    proc.wait()
    gone, alive = psutil.wait_procs([zygote, *kernels], timeout=60)
    assert not alive, [p.pid for p in alive]


def test_a_zygote_that_died_is_not_waited_for(tmp_path):
    """With the zygote gone, a run launches its kernel itself at once."""
    from analysis_lib.run.zygote import fork_kernel

    with Zygote() as zy:
        zy.proc.kill()
        zy.proc.wait()
        t0 = time.monotonic()
        assert fork_kernel(zy.path, str(tmp_path / "k.json"), str(tmp_path), {}) is None
        assert time.monotonic() - t0 < 1
