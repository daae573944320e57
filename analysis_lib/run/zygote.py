"""A kernel zygote for ``workbook run-all``: one process imports what every notebook imports, once,
then forks a fresh kernel for each report.

A fresh ``python -m ipykernel_launcher`` spends about 2.4 s booting and importing pandas, Ibis,
matplotlib, seaborn and scipy before the first cell runs; over the 18 example reports that is over
40 s of CPU on a 2-core machine. The zygote imports what a single run's kernel leaves to the
notebooks that need it too (scipy, statsmodels, seaborn: ``kernel.preload(heavy=True)``). A forked kernel starts from the zygote's memory in milliseconds.
Runs stay isolated: every report still gets a process of its own, and the zygote never runs a
notebook's code, so each kernel starts in the state a fresh import would leave.

The zygote listens on a Unix socket in a private folder; it binds the socket only once its imports
are done, so the socket's existence means "ready". A request is one JSON line (the kernel's
connection file, working folder and environment); the answer is the forked kernel's pid. The
kernel puts itself in a process group of its own, so interrupting or killing it never touches the
zygote, and the zygote reaps its kernels as they exit. It exits when the process that started it
does. :class:`analysis_lib.run.kernel.IsolatedKernelManager` asks it for kernels when
``WORKBOOK_ZYGOTE`` names its socket, and falls back to launching a kernel itself otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ENV = "WORKBOOK_ZYGOTE"


def _reap(_signum, _frame) -> None:
    """Collect every kernel that has exited (none stays a zombie)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _exit_with(pid: int) -> None:
    """End this kernel when process ``pid`` (the run that asked for it) is gone."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def _become_kernel(req: dict) -> None:
    """In the forked child: become an IPython kernel for ``req`` and never return."""
    code = 1
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        # a fresh process draws new random state; a fork would share the zygote's. numpy, ipykernel
        # and ipywidgets are imported here and in serve(), on purpose: the CLI imports this module
        # for Zygote, and only the zygote process should pay for them
        import numpy as np

        random.seed()
        np.random.seed()
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", req["connection_file"]])
        import ipywidgets

        ipywidgets.register_comm_target()  # done at import in a kernel; imported here before it
        owner = int(req.get("owner") or 0)
        if owner:  # what ipykernel's parent poller does for a launched kernel
            threading.Thread(target=_exit_with, args=(owner,), daemon=True).start()
        app.start()
        code = 0
    finally:
        os._exit(code)


def serve(sock_path: str, parent: int) -> None:
    """Import the notebooks' libraries, then fork a kernel per request until ``parent`` exits."""
    from analysis_lib.run.kernel import preload  # kernel imports this module: a cycle at the top

    # what ipykernel does before anything imports matplotlib
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    import ipykernel.kernelapp  # noqa: F401

    preload(heavy=True)  # once for every kernel of the run-all, the heavy libraries too
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path + ".tmp")
    os.rename(sock_path + ".tmp", sock_path)  # ready
    srv.listen(64)
    srv.settimeout(1.0)
    signal.signal(signal.SIGCHLD, _reap)
    while os.getppid() == parent:
        try:
            conn, _ = srv.accept()
        except TimeoutError:
            continue
        with conn:
            conn.settimeout(10)
            try:
                req = json.loads(conn.makefile("r").readline())
            except (OSError, ValueError):
                continue
            pid = os.fork()
            if pid == 0:
                srv.close()
                conn.close()
                _become_kernel(req)
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


class Zygote:
    """The zygote process of one run-all; a context manager that sets ``WORKBOOK_ZYGOTE`` for the
    runs it starts (worker processes inherit it) and stops the zygote on exit."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="wbz-")
        self.path = os.path.join(self.dir, "zygote.sock")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "analysis_lib.run.zygote", self.path, str(os.getpid())],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C of run-all reaches it only through its parent
        )
        Path(self.dir, "pid").write_text(str(self.proc.pid))  # runs see whether it is alive

    def __enter__(self) -> Zygote:
        os.environ[ENV] = self.path
        return self

    def __exit__(self, *exc) -> None:
        os.environ.pop(ENV, None)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for p in Path(self.dir).iterdir():
            p.unlink(missing_ok=True)
        os.rmdir(self.dir)


def fork_kernel(
    sock_path: str, connection_file: str, cwd: str, env: dict, wait: float = 30.0
) -> int | None:
    """Ask the zygote at ``sock_path`` for a kernel; its pid, or None when there is no zygote
    ready within ``wait`` seconds (the caller then launches a kernel itself)."""
    deadline = time.monotonic() + wait
    pid_file = Path(os.path.dirname(sock_path), "pid")
    while not os.path.exists(sock_path):
        try:  # still importing, or dead (a zygote that failed to start is not waited for)
            alive = ForkedProcess(int(pid_file.read_text())).poll() is None
        except (OSError, ValueError):
            alive = False
        if not alive or time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    # the kernel ends itself when this process (its owner) is gone
    req = {"connection_file": connection_file, "cwd": cwd, "env": env, "owner": os.getpid()}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(sock_path)
            s.sendall(json.dumps(req).encode() + b"\n")
            return int(json.loads(s.makefile("r").readline())["pid"])
    except (OSError, ValueError, KeyError):
        return None


class ForkedProcess:
    """What jupyter_client's provisioner needs of a ``Popen`` for a kernel the zygote forked (a
    child of the zygote, not of this process: it is polled through /proc)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """None while the kernel runs, else its (unknown, so 0) exit code."""
        if self.returncode is None:
            try:
                stat = Path(f"/proc/{self.pid}/stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] == "Z":  # exited, not yet reaped
                    self.returncode = 0
            except (OSError, IndexError):
                self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Block until the kernel has exited."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        """Signal the kernel (nothing when it has exited)."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)


if __name__ == "__main__":
    # like ipykernel_launcher: the working folder is not on the import path
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    serve(sys.argv[1], int(sys.argv[2]))
