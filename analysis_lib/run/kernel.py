"""Kernels for notebook runs: an IPC-transport kernel manager, and a kernel started early.

:class:`WarmKernel` starts the notebook's kernel the moment ``workbook run`` starts and asks it to
import the heavy libraries at once, so the kernel boots and imports on one core while the CLI
imports its own libraries and validates params and data on the other. This module imports only
jupyter_client, so starting the kernel is the first thing a run does.

A single run's kernel imports only what every notebook needs (:func:`preload`): a report that
needs no statistics library does not import scipy, statsmodels or seaborn (tests/test_import_path.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from queue import Empty

from jupyter_client import BlockingKernelClient
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.utils import run_sync

from analysis_lib.run import zygote


def notebooks_dir() -> Path:
    """Where the notebooks are: ``WORKBOOK_NOTEBOOKS`` (tests point it at stand-ins), else the
    project's ``notebooks/``."""
    return Path(
        os.environ.get("WORKBOOK_NOTEBOOKS") or Path(__file__).resolve().parents[2] / "notebooks"
    )


# what a kernel does before the first cell (silent: no execution count, nothing in the notebook,
# no name left in the notebook's namespace): see preload
PRELOAD = "import analysis_lib.run.kernel as _wb_kernel; _wb_kernel.preload(); del _wb_kernel"

# what only some notebooks need (scipy, statsmodels, seaborn: about 1.5 s of CPU together): a single
# run's kernel leaves them to the notebooks that import them; the zygote of run-all imports them
# once for all its kernels (analysis_lib.run.zygote)
HEAVY = ("scipy.stats", "statsmodels.stats.proportion", "seaborn")


SQL_COMPILERS = "ibis.backends.sql.compilers"


def lazy_sql_compilers() -> bool:
    """Let Ibis import a backend's SQL compiler at its first use instead of all of them at once.

    Ibis's DuckDB backend imports ``ibis.backends.sql.compilers``, whose ``__init__`` does nothing
    but import the compiler of each of Ibis's twenty SQL backends, and with them seventeen sqlglot
    dialects: about 0.1 CPU-s of every cold run (the CLI and the kernel each pay it) for compilers
    no report uses. Called before Ibis loads a backend, this puts in that package's place a module
    that imports each compiler module (``sc.duckdb``, ``sc.PostgresCompiler``, ``from ... import
    X``) from the same folder when it is first asked for: every backend gets Ibis's own compiler,
    and ``ibis.to_sql(expr, dialect=...)`` works for any dialect. Only when that ``__init__`` holds
    nothing but those imports (read from the file); otherwise, or when the package is already
    imported, nothing changes. True when the lazy module is in place."""
    if SQL_COMPILERS in sys.modules:
        return isinstance(sys.modules[SQL_COMPILERS], _LazyCompilers)
    try:
        spec = importlib.util.find_spec(SQL_COMPILERS)  # imports ibis.backends.sql (and ibis)
        source = Path(spec.origin).read_text(encoding="utf-8")
    except (ImportError, AttributeError, OSError, TypeError):
        return False
    pairs = re.findall(rf"^from {re.escape(SQL_COMPILERS)}\.(\w+) import (\w+)$", source, re.M)
    rest = re.sub(rf"^from {re.escape(SQL_COMPILERS)}\.\w+ import \w+$", "", source, flags=re.M)
    rest = re.sub(r"^__all__ = \[[^\]]*\]", "", rest, flags=re.M)
    rest = rest.replace("from __future__ import annotations", "")
    if not pairs or rest.strip() or SQL_COMPILERS in sys.modules:
        return False
    mod = _LazyCompilers(SQL_COMPILERS, {name: sub for sub, name in pairs})
    mod.__spec__, mod.__file__ = spec, spec.origin
    mod.__path__ = list(spec.submodule_search_locations or [])
    sys.modules[SQL_COMPILERS] = mod
    parent = sys.modules["ibis.backends.sql"]
    parent.compilers = mod
    return True


class _LazyCompilers(types.ModuleType):
    """``ibis.backends.sql.compilers`` importing each compiler module at its first use."""

    def __init__(self, name: str, where: dict[str, str]):
        super().__init__(name)
        self._where = where  # class name -> its submodule
        self.__all__ = list(where)

    def __getattr__(self, attr: str):
        sub = self._where.get(attr, attr)
        if attr.startswith("__"):
            raise AttributeError(attr)
        try:
            module = importlib.import_module(f"{self.__name__}.{sub}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{self.__name__}.{sub}":
                raise
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}") from None
        return module if sub == attr else getattr(module, attr)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._where))


def preload(heavy: bool = False) -> None:
    """Import what every notebook imports and load what every report reads: the bootstrap, tables,
    charts, data, quality, params and metrics modules, the DuckDB backend of Ibis (loaded at the
    first connect otherwise, about 0.5 s) and the word catalog. ``heavy``: also :data:`HEAVY`.
    Here, not at the top of this module: the CLI imports this module and needs none of them."""
    lazy_sql_compilers()
    import ibis

    import analysis_lib.core.data
    import analysis_lib.core.metrics
    import analysis_lib.core.quality
    import analysis_lib.params
    import analysis_lib.present.bootstrap
    import analysis_lib.present.charts
    import analysis_lib.present.tables
    from analysis_lib.present.words import catalog

    del analysis_lib
    ibis.duckdb  # noqa: B018 - loads the backend (entry points, its SQL compilers)
    catalog()
    for name in HEAVY if heavy else ():
        importlib.import_module(name)


# pids of the kernels this process started (launched or forked) and has not cleaned up yet: what a
# run stopped by a signal kills on its way out (see kill_all)
LIVE_KERNELS: set[int] = set()


def kill_all() -> None:
    """SIGKILL every kernel this process started, with its process group (a kernel's own children,
    e.g. a Spark JVM, go with it). Safe in a signal handler: no I/O, no locks."""
    for pid in list(LIVE_KERNELS):
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)


class ReadyClient(AsyncKernelClient):
    """The client papermill runs a notebook through, ready the moment its kernel is.

    jupyter_client's ``wait_for_ready`` takes the kernel's reply to ``kernel_info``, then waits
    0.2 s for any message on IOPub (to know IOPub is connected; when it is not yet, it asks again
    after those 0.2 s) and then 0.2 s more to see IOPub go quiet: 0.2-0.6 s of every run in which
    neither the kernel nor the run does anything (under run-all, before each report; in a cold
    ``workbook run``, after the kernel's imports, before the first cell). Here IOPub is known to
    be connected when it carries the kernel's ``idle`` status for that very request, which the
    kernel sends right after the reply; only when it does not arrive within 0.2 s is the
    request sent again. Nothing needs flushing: papermill reads only messages that answer its
    own requests."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            msg_id = self.kernel_info()
            reply = await self._next(self.shell_channel, msg_id, "kernel_info_reply", 1.0)
            if reply is not None and await self._next(self.iopub_channel, msg_id, "idle", 0.2):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    @staticmethod
    async def _next(channel, msg_id: str, kind: str, wait: float) -> dict | None:
        """The first message on ``channel`` answering ``msg_id`` of type ``kind`` (``idle``: the
        kernel's status going idle), within ``wait`` seconds; None if none came."""
        end = time.monotonic() + wait
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await channel.get_msg(timeout=left)
            except Empty:
                return None
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == kind or (
                kind == "idle"
                and msg["msg_type"] == "status"
                and msg["content"].get("execution_state") == "idle"
            ):
                return msg
        return None


class IsolatedKernelManager(AsyncKernelManager):
    """A kernel manager that talks to its kernel over IPC sockets in a private temp folder.

    With the default TCP transport, kernels started at the same moment pick ports by binding and
    releasing them, and two can pick the same one (nbconvert issue #1066). IPC socket files in a
    folder of their own cannot collide, so run-all can start many kernels at once.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._ipc_dir = tempfile.mkdtemp(prefix="wbk-")
        self.transport = "ipc"
        self.ip = os.path.join(self._ipc_dir, "k")
        self.client_factory = ReadyClient

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        # under run-all, a kernel forked from the zygote (analysis_lib.run.zygote) when it is ready
        sock = os.environ.get(zygote.ENV)
        same_python = (
            os.path.abspath(kernel_cmd[0]) == os.path.abspath(sys.executable)
            and "ipykernel_launcher" in kernel_cmd
        )  # a kernel spec naming another interpreter is launched as it says
        if sock and sock != "0" and same_python and "-f" in kernel_cmd:
            conn_file = kernel_cmd[kernel_cmd.index("-f") + 1]
            cwd = str(kw.get("cwd") or os.getcwd())
            env = dict(kw.get("env") or os.environ)
            pid = await asyncio.to_thread(zygote.fork_kernel, sock, conn_file, cwd, env)
            if pid is not None:
                p = self.provisioner
                p.process, p.pid, p.pgid, p.cwd = zygote.ForkedProcess(pid), pid, pid, cwd
                self._reconcile_connection_info(p.connection_info)
                self._kernel_pid = pid
                LIVE_KERNELS.add(pid)
                return
        # the kernel's own log lines (e.g. "KeyboardInterrupt caught in kernel" at shutdown) must
        # not reach the terminal: a failed run prints exactly one line
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self._kernel_pid = getattr(self.provisioner, "pid", None)
        if self._kernel_pid:
            LIVE_KERNELS.add(self._kernel_pid)

    async def _async_finish_shutdown(
        self, waittime: float | None = None, pollinterval: float = 0.01, restart: bool = False
    ) -> None:
        # whether the kernel has exited, every 10 ms instead of jupyter_client's 100 ms: a kernel
        # asked to shut down exits within a few ms, and the 0.1 s was idle in every run
        await super()._async_finish_shutdown(waittime, pollinterval, restart)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        LIVE_KERNELS.discard(getattr(self, "_kernel_pid", None))
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


class WarmKernel:
    """A python3 kernel started now, in ``cwd``, already importing :data:`PRELOAD`; hand ``km``
    to papermill and call :meth:`shutdown` when done (also on error)."""

    def __init__(self, cwd: str | os.PathLike):
        os.environ["WORKBOOK_BATCH"] = "1"  # the kernel inherits it: notebooks skip explorers
        self.km = IsolatedKernelManager(kernel_name="python3")
        run_sync(self.km.start_kernel)(cwd=str(cwd))
        self._kc = BlockingKernelClient()
        self._kc.load_connection_info(self.km.get_connection_info())
        self._kc.start_channels()
        # queued by ZeroMQ until the kernel listens; the reply goes to this client only. A run
        # refused for bad input kills the kernel mid-import: it costs CPU on the other core, not
        # time (measured: starting the imports only after the params validate made a valid run
        # 0.4 s slower)
        self._kc.execute(PRELOAD, silent=True, store_history=False)

    def kill(self) -> None:
        """Kill the kernel without talking to it (a run stopped by a signal: the event loop the
        client uses may have been interrupted) and remove its socket folder."""
        kill_all()
        with contextlib.suppress(OSError):
            self.km.cleanup_connection_file()
        shutil.rmtree(self.km._ipc_dir, ignore_errors=True)

    def shutdown(self) -> None:
        """Stop the kernel and remove its socket folder."""
        try:
            self._kc.stop_channels()
        finally:
            if run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=True)
            else:
                run_sync(self.km.cleanup_resources)()
