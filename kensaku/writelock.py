"""One writer at a time per index directory: an exclusive ``flock`` on a lock file beside the directory.

Two builds of one index at once would each read the old index, build, and swap in their own result: the last to
finish would silently drop what the other added. Every writer (``Index.build``/``add``/``rebuild``, the app's
rebuild, and :func:`kensaku.files.atomic_directory` itself) therefore holds :func:`write_lock` from reading the old
index to renaming the new one into place. Readers never take it: searching goes on during a build.

Why this design:

- **Beside the directory, never inside.** An index directory is replaced by rename on every build, so a lock inside
  it would leave with the old copy. The lock of ``…/NAME`` is the file ``…/.NAME.lock``, created by the writer that
  takes it and deleted by that writer on release while it still holds it, so nothing stays beside the index. A
  writer that locked a file which its last holder deleted meanwhile sees that the file at the path is another one
  (device and inode differ) and locks that one instead.
- **``flock``, not a PID file.** The lock is held by an open file and released by the kernel when the holder ends in
  any way, ``kill -9`` included. No stale lock is ever left, and a reused PID cannot look like the holder: there is
  nothing to recover and no PID or start time to trust. Separate opens exclude each other even inside one process,
  so two threads of the app are serialized too; the thread that holds it may take it again (re-entrant), as
  ``Index.add`` → ``Index.rebuild`` → ``atomic_directory`` do.
- **Holder record for messages only.** The holder writes its PID, host, the time it took the lock and its command
  into the file (one JSON line); a waiter reads it to say whom it waits for. A holder killed with ``kill -9``
  leaves the file and its record behind, but not the lock: the next writer takes it at once.

Policy: a writer that finds the lock taken logs one message (``index … is being written by PID 1234 on host x since
… (kensaku add …); waiting up to 600 s``) and polls; after ``wait`` seconds (default :data:`DEFAULT_WAIT`, 600 s) it
raises :class:`~kensaku.errors.IndexLockedError` naming the holder. ``wait=0`` refuses at once; ``wait=inf`` waits
as long as it takes.

Filesystems: on Linux, ``flock`` on NFS is carried out as a POSIX lock held by the server (NLM or the NFSv4 lease),
so writers on different machines exclude each other, and a dead client's lock ends with its lease. Where no lock can
be taken (``nolock`` mounts, some FUSE filesystems, a platform without ``fcntl``) the writer logs a warning and goes
on without it, as kensaku did before; :func:`kensaku.files.recover` then falls back to judging leftovers by PID and
process start time.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from kensaku.errors import IndexLockedError, InputError, LockHolder

DEFAULT_WAIT = 600.0  # seconds a writer waits for another one before giving up
POLL = 0.2  # seconds between tries while waiting
log = logging.getLogger(__name__)  # shown by the CLI; silent in a library caller unless it configures logging

# Errors of flock/open meaning "no locking here", not "someone holds it".
_UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.EROFS, errno.EACCES, errno.EPERM}


@dataclass
class _Held:
    """A lock this process holds: the thread that took it, the open file and how many times it was taken."""

    thread: int
    fd: int
    depth: int = 1


_held: dict[Path, _Held] = {}
_registry = threading.Lock()


def _fcntl() -> ModuleType | None:
    """The ``fcntl`` module, or ``None`` where there is none (Windows): imported here, so the package imports
    everywhere."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a target platform
        return None
    return fcntl


def lock_path(directory: Path) -> Path:
    """The lock file of ``directory``: ``.NAME.lock`` beside it (the directory itself is replaced by rename)."""
    target = Path(directory).resolve()
    return target.parent / f".{target.name}.lock"


def check_wait(wait: float | None) -> float:
    """``wait`` in seconds (``None`` → :data:`DEFAULT_WAIT`); refuses a negative or NaN value."""
    if wait is None:
        return DEFAULT_WAIT
    if math.isnan(wait) or wait < 0:
        raise InputError(f"wait={wait} is not a number of seconds ≥ 0", "pass 0 to refuse at once, or e.g. 60")
    return float(wait)


def read_holder(directory: Path) -> LockHolder | None:
    """Who holds the lock of ``directory``, from its record; ``None`` when it is empty or unreadable."""
    try:
        data = json.loads(lock_path(directory).read_text(encoding="utf-8"))
        return LockHolder(int(data["pid"]), str(data["host"]), datetime.fromisoformat(data["since"]), data["command"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _holder_now(directory: Path) -> LockHolder | None:
    """The holder's record, read again for a moment when it is empty (a new holder is about to write it)."""
    for _ in range(5):
        holder = read_holder(directory)
        if holder is not None:
            return holder
        time.sleep(0.05)
    return None


def _command() -> str:
    """This process's command line, e.g. ``kensaku add b.pdf`` (at most 200 characters)."""
    argv = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else sys.executable, *sys.argv[1:]]
    text = shlex.join(argv)
    return text if len(text) <= 200 else text[:199] + "…"


def _who(holder: LockHolder | None) -> str:
    return holder.describe() if holder is not None else "another process"


def _locked(directory: Path, holder: LockHolder | None, waited: float) -> IndexLockedError:
    """The error for a writer that gave up after ``waited`` seconds."""
    after = f"; gave up after waiting {waited:.1f} s" if waited else ""
    return IndexLockedError(
        f"index {directory} is being written by {_who(holder)}{after}",
        "wait for it to finish and run this again, or wait longer with --wait SECONDS (wait= in Python)",
        directory=str(directory),
        holder=holder,
        waited=waited,
    )


def _open(path: Path) -> int | None:
    """The lock file opened for writing (created when missing); ``None`` when it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        return None


def _try(fcntl: ModuleType, fd: int) -> bool | None:
    """Take the lock without blocking: True when taken, False when another holds it, None when unsupported."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        return None
    return True


def _is_current(fd: int, path: Path) -> bool:
    """Whether the open lock file is still the one at ``path`` (its last holder may have deleted it meanwhile)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _take(fcntl: ModuleType, path: Path) -> tuple[int | None, bool | None]:
    """One try without waiting: ``(fd, True)`` when this holds the lock of the file now at ``path``, ``(None,
    False)`` when another holds it, ``(None, None)`` when locking is not available here."""
    for _ in range(100):  # each round means another writer took and released the lock in between
        fd = _open(path)
        if fd is None:
            return None, None
        try:
            taken = _try(fcntl, fd)
            if taken and _is_current(fd, path):
                return fd, True
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        if not taken:
            return None, taken
    return None, False


def _wait_for(fcntl: ModuleType, path: Path, directory: Path, wait: float) -> tuple[int | None, bool | None]:
    """:func:`_take`, tried again for up to ``wait`` seconds with one message; raises when it stays taken."""
    fd, taken = _take(fcntl, path)
    if taken is not False:
        return fd, taken
    holder = _holder_now(directory)
    if wait <= 0:
        raise _locked(directory, holder, 0.0)
    limit = "as long as it takes" if math.isinf(wait) else f"up to {wait:g} s"
    log.warning("index %s is being written by %s; waiting %s for it to finish", directory, _who(holder), limit)
    start = time.monotonic()
    while taken is False:
        waited = time.monotonic() - start
        if waited >= wait:
            raise _locked(directory, _holder_now(directory), waited)
        time.sleep(min(POLL, wait - waited))
        fd, taken = _take(fcntl, path)
    return fd, taken


def _write_record(fd: int) -> None:
    """Write who holds the lock into the lock file (for the messages of those who wait)."""
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": _command(),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)


def _reenter(path: Path) -> bool:
    """Count one more hold when this thread holds the lock already."""
    with _registry:
        held = _held.get(path)
        if held is None or held.thread != threading.get_ident():
            return False
        held.depth += 1
        return True


def _release(path: Path) -> None:
    """Drop one hold; the last one deletes the lock file, still holding it, then closes it (releasing the lock)."""
    with _registry:
        held = _held[path]
        held.depth -= 1
        if held.depth:
            return
        del _held[path]
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
    os.close(held.fd)


def _acquire(directory: Path, wait: float | None) -> bool | None:
    """Take the lock of ``directory``: one try when ``wait`` is ``None`` (a probe), else for up to ``wait`` seconds
    (raising when it stays taken) and then write the holder record.

    Returns True when this thread holds it now (pair with :func:`_release`), False when another holds it (a probe
    only) and None when locking is not available here.
    """
    path = lock_path(directory)
    if _reenter(path):
        return True
    fcntl = _fcntl()
    if fcntl is None:
        return None
    fd, taken = _take(fcntl, path) if wait is None else _wait_for(fcntl, path, directory, wait)
    if fd is None:
        return taken
    with _registry:
        _held[path] = _Held(threading.get_ident(), fd)
    if wait is not None:
        try:
            _write_record(fd)
        except BaseException:
            _release(path)
            raise
    return True


@contextmanager
def write_lock(directory: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the writer lock of ``directory`` for the ``with`` block (re-entrant within one thread).

    Args:
        directory: The index (or other atomically replaced) directory.
        wait: Seconds to wait for another writer (``None``: :data:`DEFAULT_WAIT`; ``0``: refuse at once).

    Raises:
        IndexLockedError: Another process (or thread) still holds it after ``wait`` seconds.
        InputError: ``wait`` is negative.
    """
    directory = Path(directory)
    if not _acquire(directory, check_wait(wait)):
        log.warning("cannot lock %s here: other writers of %s are not kept out", lock_path(directory), directory)
        yield
        return
    try:
        yield
    finally:
        _release(lock_path(directory))


@contextmanager
def unless_writing(directory: Path) -> Iterator[bool | None]:
    """Hold the lock of ``directory`` for a clean-up, unless another writer holds it (never waits).

    Yields True when this thread holds it (taken now, or held already by this thread's build), False when another
    process or thread holds it (its files are in use: leave them alone), and None when locking is not available
    here (judge by other means).
    """
    directory = Path(directory)
    taken = _acquire(directory, None)
    if not taken:
        yield taken
        return
    try:
        yield True
    finally:
        _release(lock_path(directory))
