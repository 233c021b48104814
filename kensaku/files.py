"""Files written safely and hashed cheaply: atomic file and directory replacement, recovery after ``kill -9``, and
streamed SHA-256 (shared by the index store, the model cache and the exports).

A directory is replaced by writing a temporary sibling (``.NAME.tmp-PID-…``) and swapping it in with two renames
(old → ``.NAME.old-PID``, new → ``NAME``), so a failed or killed writer leaves the previous version as it was. A
``kill -9`` between the two renames leaves no ``NAME`` but a complete ``.NAME.old-PID``: :func:`recover` renames it
back once no writer holds the directory's lock (``.NAME.lock``, :mod:`kensaku.writelock`), and removes leftovers of
dead writers.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kensaku.writelock import unless_writing, write_lock

# A directory holding this file is complete (it is written last).
MARKER = "manifest.json"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MB blocks (a 200 MB PDF is never held in memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    """True if a process with this id exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from ``/proc``; ``None`` when it cannot be told."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        lines = Path("/proc/stat").read_text().splitlines()
        boot = next(float(line.split()[1]) for line in lines if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _dead_build(path: Path, pid: int) -> bool:
    """Whether leftover ``path`` of process ``pid`` is a dead build's, judged without the lock: the process is gone,
    or its PID now belongs to a process started after the leftover last changed (the PID was reused)."""
    if pid == os.getpid():
        return False  # maybe another thread's build
    if not _pid_alive(pid):
        return True
    started = process_start(pid)
    try:
        return started is not None and started > path.stat().st_ctime + 1
    except OSError:
        return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _leftovers(target: Path, kind: str, *, by_pid: bool = False) -> list[Path]:
    """The ``.NAME.KIND-PID…`` siblings of ``target``, newest first; with ``by_pid`` (the lock cannot be asked)
    only those of dead builds by :func:`_dead_build`."""
    out = []
    for path in target.parent.glob(f".{target.name}.{kind}-*"):
        digits = path.name.removeprefix(f".{target.name}.{kind}-").split("-")[0]
        if digits.isdigit() and (not by_pid or _dead_build(path, int(digits))):
            out.append(path)
    return sorted(out, key=_mtime, reverse=True)


def recover(directory: Path) -> bool:
    """Undo what a killed build left behind at ``directory``; returns True when the previous index was restored.

    A build killed between its two renames leaves the previous index as ``.NAME.old-PID`` and no ``NAME``: it is
    renamed back. Temporary build directories and old copies of dead builds are removed.

    Which leftovers are dead is told by the writer lock (:mod:`kensaku.writelock`), not by the PID in their names
    (a PID may have been reused by an unrelated process): while another writer holds the lock nothing is touched (its
    files are in use); when the lock is free, or held by this thread's own build, every leftover is a dead build's.
    Without leftovers the lock is not asked at all, so readers never wait for or disturb a writer. Where locking is
    not available, a leftover counts as dead when its PID is gone or was reused (:func:`_dead_build`).
    """
    target = Path(directory).resolve()
    if not target.parent.is_dir() or not (_leftovers(target, "old") or _leftovers(target, "tmp")):
        return False
    restored = False
    with unless_writing(target) as free:
        if free is False:
            return False
        for old in _leftovers(target, "old", by_pid=free is None):
            if not target.exists() and (old / MARKER).is_file():
                old.rename(target)
                restored = True
            else:
                shutil.rmtree(old, ignore_errors=True)
        for tmp in _leftovers(target, "tmp", by_pid=free is None):
            shutil.rmtree(tmp, ignore_errors=True)
    return restored


@contextmanager
def atomic_directory(target: Path, *, wait: float | None = None) -> Iterator[Path]:
    """Yield a temporary directory next to ``target``; on success it replaces ``target`` by rename.

    The writer lock of ``target`` is held throughout (taken again when the caller holds it already; waiting up to
    ``wait`` seconds for another writer, see :func:`kensaku.writelock.write_lock`). On an exception the temporary
    directory is removed and ``target`` is untouched; after a ``kill -9``, :func:`recover` puts things right.
    """
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with write_lock(target, wait):
        recover(target)
        tmp = _new_temp(target, f".{target.name}.tmp-{os.getpid()}-", directory=True)
        try:
            yield tmp
            old = None
            if target.exists():
                old = target.parent / f".{target.name}.old-{os.getpid()}"
                if old.exists():
                    shutil.rmtree(old)
                target.rename(old)
            tmp.rename(target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _mode_of(path: Path) -> int | None:
    """The permission bits of an existing ``path`` (``None`` when there is none)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _new_temp(target: Path, prefix: str, *, directory: bool = False) -> Path:
    """Create a new empty file (or folder) ``PREFIX<random>`` beside ``target``, as ``open()`` and ``mkdir`` would:
    mode 0o666 (0o777 for a folder) masked by the process umask; a file takes the mode of an existing ``target``.

    ``tempfile.mkstemp``/``mkdtemp`` make 0o600/0o700, so an export or an index written through them could not be
    read by anyone else (the web server's user, a colleague on a shared folder). The umask is applied by the kernel,
    never read or changed here (``os.umask`` would change it for every thread of the process for a moment). A folder
    does not keep the mode of the one it replaces: indexes written before this fix are 0o700 by accident.
    """
    mode = None if directory else _mode_of(target)
    for _ in range(100):
        path = target.parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            if directory:
                path.mkdir(0o777)
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))
        except FileExistsError:
            continue
        if mode is not None:
            path.chmod(mode)
        return path
    raise FileExistsError(f"no free temporary name {prefix}… in {target.parent}")  # pragma: no cover


def atomic_file(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` through a temporary file in the same folder, ``fsync`` and a rename.

    The file gets the permissions ``open()`` would give it (0o666 masked by the umask: 0o644 under umask 022), or
    keeps those of the file it replaces.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp(target, f".{target.name}.")
    try:
        with tmp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
