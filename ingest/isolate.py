"""Each file read in a worker process under a time and memory budget, so that one file cannot hang or sink a batch.

A reader can hang where Python cannot interrupt it (PDFium's C code, a catastrophic regex, libxml2) or demand memory
without bound (a decompression bomb); only a separate process can be stopped from outside. :class:`Isolation` runs
``fn(*args)`` in a worker process and waits for it up to the file's budget: ``file_timeout_s``, plus ``ocr_page_s``
for each page the worker starts reading by OCR (:func:`~kensaku.ingest.readers.ocr.on_each_page`; OCR of a dense
page takes 22 s on a 2-core machine, so a scan's budget grows with its pages while a hang elsewhere is still cut
short). Past the budget the worker is killed and :class:`FileTimeoutError` raised; the next call starts a fresh
worker. The worker's address space is capped at ``worker_memory_mb`` (``RLIMIT_AS``, inherited by Tesseract), so a
file that needs more fails alone (:class:`ReaderStoppedError`). See :class:`~kensaku.config.ReadLimits`.

The worker is a plain ``python -c`` child that imports kensaku with the caller's ``sys.path``, started at the first
call of a batch and reused for its other files; the two talk over a socket pair with pickled messages. It is not a
:mod:`multiprocessing` child: spawn and forkserver children run the caller's ``__main__`` file again (as
``__mp_main__``), which under Streamlit is the app script itself, and fork is unsafe in a threaded server. So a
worker starts from any thread (the app rebuilds in a script thread). On Linux the kernel kills it when the thread
that started it ends (``PR_SET_PDEATHSIG``), so a hung worker never outlives its caller; it ignores Ctrl-C, which
the caller handles by killing it. Starting one costs about 0.3 s, and each reader module is imported in it once, the
first time a file needs it.

With ``file_timeout_s = 0``, or where processes cannot be started this way (not POSIX), ``fn`` runs in the calling
process: no time or memory limit.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, ParamSpec, TypeVar

from kensaku.config import MB, ReadLimits, limit_setting
from kensaku.errors import KensakuError

P = ParamSpec("P")
T = TypeVar("T")

START_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 5.0
_CHILD = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from kensaku.ingest.isolate import serve; serve(*map(int, sys.argv[2:]))"
)
_PR_SET_PDEATHSIG = 1


class IsolationError(KensakuError):
    """The worker process did not finish a file: it ran out of time or memory, or it crashed. The batch goes on."""


class FileTimeoutError(IsolationError):
    """A file took longer than its time budget; its worker was killed."""


class ReaderStoppedError(IsolationError):
    """The worker ran out of memory or died (a signal) while reading a file."""


class WorkerStartError(KensakuError):
    """The worker process could not be started at all: a problem of the installation, not of a file."""


class RemoteTraceback(Exception):
    """The traceback of an unexpected exception in the worker: the ``__cause__`` of the one raised in the caller."""

    def __str__(self) -> str:
        """The traceback text as the worker formatted it."""
        return f"\n\n(in the reader process)\n{self.args[0]}"


def isolation_supported() -> bool:
    """True where a worker can be started (POSIX, with a Python executable to start)."""
    return os.name == "posix" and bool(sys.executable)


class Isolation:
    """Runs calls in one worker process at a time under ``limits`` (see the module docstring); a context manager.

    Args:
        limits: ``file_timeout_s`` (0: run in this process), ``ocr_page_s`` and ``worker_memory_mb``.
    """

    def __init__(self, limits: ReadLimits) -> None:
        """Remember the limits; the worker starts at the first :meth:`run`."""
        self.limits = limits
        self.enabled = limits.file_timeout_s > 0 and isolation_supported()
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> Isolation:
        """The isolation itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the worker."""
        self.close()

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in the worker (``fn`` and its arguments are pickled: a module-level function).

        Returns:
            What ``fn`` returned.

        Raises:
            FileTimeoutError: It ran past the budget (the worker was killed).
            ReaderStoppedError: The worker ran out of memory or died.
            WorkerStartError: No worker could be started.
            Exception: What ``fn`` raised (with the worker's traceback as its cause), or a ``RuntimeError`` naming it
                when it cannot be pickled.
        """
        if not self.enabled:
            return fn(*args, **kwargs)
        conn = self._start()
        try:
            conn.send((_cwd(), fn, args, kwargs))
            kind, payload = self._wait(conn, time.monotonic())
        except BaseException:  # also Ctrl-C while waiting: the worker is in an unknown state
            self._stop(kill=True)
            raise
        if kind == "raised":
            error, trace = payload
            raise error from RemoteTraceback(trace)
        result: T = payload
        return result

    def close(self) -> None:
        """Let the worker exit (it reads the end of the connection), killing it if it does not within 5 s."""
        self._stop(kill=False)

    def _start(self) -> Connection:
        """The running worker, or a new one that has reported ready."""
        if self._conn is not None and self._proc is not None and self._proc.poll() is None:
            return self._conn
        self._stop(kill=True)
        ours, theirs = socket.socketpair()
        fd = theirs.fileno()
        command = [sys.executable, "-P", "-c", _CHILD, json.dumps(sys.path), str(fd), str(os.getpid())]
        try:
            with theirs:
                self._proc = subprocess.Popen(
                    [*command, str(self.limits.worker_memory_mb)],
                    pass_fds=(fd,),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,  # the worker prints nothing; a library that does must not reach stdout
                )
        except OSError as exc:
            ours.close()
            raise _start_error(str(exc.strerror or exc)) from exc
        self._conn = Connection(ours.detach())
        answered = ready = False
        try:
            answered = self._conn.poll(START_TIMEOUT_S)
            ready = answered and self._conn.recv()[0] == "ready"
        except (EOFError, OSError):
            pass
        if not ready:
            code = self._stop(kill=True)
            raise _start_error(f"it exited with status {code}" if answered else f"no answer in {START_TIMEOUT_S:.0f} s")
        return self._conn

    def _wait(self, conn: Connection, started: float) -> tuple[str, Any]:
        """The worker's answer, granting ``ocr_page_s`` more per OCR page; kills it past the budget or on death."""
        pages = 0
        while True:
            left = started + self.limits.file_timeout_s + pages * self.limits.ocr_page_s - time.monotonic()
            if not conn.poll(None if math.isinf(left) else max(left, 0.0)):
                self._stop(kill=True)
                raise _timeout(self.limits, pages)
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                raise _stopped(self.limits, self._stop(kill=True)) from None
            if kind == "ocr_page":
                pages += 1
            elif kind == "memory":
                self._stop(kill=True)
                raise _stopped(self.limits, None)
            else:
                return kind, payload

    def _stop(self, *, kill: bool) -> int | None:
        """End the worker (at once with ``kill``) and return its exit status (``-N``: killed by signal N)."""
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None:
            conn.close()
        if proc is None:
            return None
        if kill:
            proc.kill()
        try:
            return proc.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


def _cwd() -> str | None:
    """The caller's working directory (relative paths are sent as they are), ``None`` when it is gone."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _timeout(limits: ReadLimits, pages: int) -> FileTimeoutError:
    budget = limits.file_timeout_s + pages * limits.ocr_page_s
    limit = f"the limit is {limits.file_timeout_s:,g} s per file"
    if pages:
        limit += f", plus {limits.ocr_page_s:,g} s per page read by OCR, {pages} page{'s' * (pages > 1)} so far"
    return FileTimeoutError(
        f"took more than {budget:,g} s to read and cut into findings ({limit}); the reader was stopped",
        f"split the file, or raise {limit_setting('file_timeout_s')}",
    )


def _stopped(limits: ReadLimits, status: int | None) -> ReaderStoppedError:
    """The error for a worker that ran out of memory (``status`` None) or died with ``status``."""
    fix = f"split the file or save it again from its application, or raise {limit_setting('worker_memory_mb')}"
    memory = f"{limits.worker_memory_mb:,} MB" if limits.worker_memory_mb else "the memory available"
    if status is None:
        return ReaderStoppedError(f"needs more memory than the {memory} the reader may use", fix)
    how = f"killed by {signal.Signals(-status).name}" if status < 0 else f"exit status {status}"
    return ReaderStoppedError(
        f"stopped the reader process ({how}): reading it may need more than the {memory} the reader may use, or "
        "a reader library crashed on it",
        fix,
    )


def _start_error(why: str) -> WorkerStartError:
    return WorkerStartError(
        f"the process that reads documents could not be started ({why})",
        f"check that {sys.executable} can import kensaku and that $KENSAKU_WORKER_MEMORY_MB is not tiny, or set "
        "$KENSAKU_FILE_TIMEOUT=0 to read documents in this process (without a time or memory limit)",
    )


# The worker side.


def serve(fd: int, parent: int, memory_mb: int) -> None:
    """The worker: run each call sent over the connection ``fd`` and send back its outcome, until the caller closes
    the connection (see the module docstring for the protocol's purpose).

    Args:
        fd: This end of the socket pair.
        parent: The caller's process id (the worker exits at once if it is already gone).
        memory_mb: Address-space limit (0: none).
    """
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _cap_memory(memory_mb)
    conn = Connection(fd)
    importlib.import_module("kensaku.ingest.pipeline")  # the usual callee, loaded before any file's clock runs
    from kensaku.ingest.readers.ocr import on_each_page

    on_each_page(lambda: conn.send(("ocr_page", None)))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if not _answer(conn, *task):
            return


def _answer(
    conn: Connection, cwd: str | None, fn: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> bool:
    """Run one call and send its outcome; ``False`` when the worker must end (it ran out of memory)."""
    try:
        if cwd is not None and cwd != _cwd():
            os.chdir(cwd)
        outcome: tuple[str, object] = ("done", fn(*args, **kwargs))
    except MemoryError:
        outcome = ("memory", None)
    except Exception as exc:
        outcome = ("raised", (_portable(exc), traceback.format_exc()))
    try:
        conn.send(outcome)
    except MemoryError:
        conn.send(("memory", None))
    except Exception as exc:  # the result could not be pickled
        conn.send(("raised", (_portable(exc), traceback.format_exc())))
    return outcome[0] != "memory"


def _portable(exc: BaseException) -> BaseException:
    """``exc`` when it survives pickling as itself, else a ``RuntimeError`` naming it."""
    try:
        copy = pickle.loads(pickle.dumps(exc))
    except Exception:
        copy = None
    if type(copy) is type(exc) and str(copy) == str(exc):
        return exc
    return RuntimeError(f"{type(exc).__name__}: {exc}")


def _die_with_parent(parent: int) -> None:
    """On Linux, have the kernel kill this worker when the thread that started it ends; exit if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(0)


def _cap_memory(memory_mb: int) -> None:
    """Cap this process's address space (and that of the programs it starts, Tesseract) at ``memory_mb``."""
    if memory_mb <= 0:
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_mb * MB if hard == resource.RLIM_INFINITY else min(memory_mb * MB, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # a system that does not enforce it (macOS): the time budget still holds
        pass
