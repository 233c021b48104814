"""Files written safely and hashed cheaply: atomic file and directory replacement, recovery after ``kill -9``, and
streamed SHA-256 (shared by the index store, the model cache and the exports).

A directory is replaced by writing a temporary sibling (``.NAME.tmp-PID-…``) and swapping it in with two renames
(old → ``.NAME.old-PID``, new → ``NAME``), so a failed or killed writer leaves the previous version as it was. A
``kill -9`` between the two renames leaves no ``NAME`` but a complete ``.NAME.old-PID``: :func:`recover` renames it
back once that process is gone, and removes leftovers of dead writers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def _leftovers(target: Path, kind: str) -> list[tuple[Path, int]]:
    """``(path, pid)`` of ``.NAME.KIND-PID…`` siblings of ``target`` left by builds whose process is gone."""
    out = []
    for path in target.parent.glob(f".{target.name}.{kind}-*"):
        digits = path.name.removeprefix(f".{target.name}.{kind}-").split("-")[0]
        if digits.isdigit() and int(digits) != os.getpid() and not _pid_alive(int(digits)):
            out.append((path, int(digits)))
    return sorted(out, key=lambda item: item[0].stat().st_mtime, reverse=True)


def recover(directory: Path) -> bool:
    """Undo what a killed build left behind at ``directory``; returns True when the previous index was restored.

    A build killed between its two renames leaves the previous index as ``.NAME.old-PID`` and no ``NAME``: it is
    renamed back. Temporary build directories and old copies of dead processes are removed.
    """
    target = Path(directory).resolve()
    if not target.parent.is_dir():
        return False
    restored = False
    for old, _ in _leftovers(target, "old"):
        if not target.exists() and (old / MARKER).is_file():
            old.rename(target)
            restored = True
        else:
            shutil.rmtree(old, ignore_errors=True)
    for tmp, _ in _leftovers(target, "tmp"):
        shutil.rmtree(tmp, ignore_errors=True)
    return restored


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory next to ``target``; on success it replaces ``target`` by rename.

    On an exception the temporary directory is removed and ``target`` is untouched; after a ``kill -9``,
    :func:`recover` puts things right.
    """
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
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


def atomic_file(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` through a temporary file in the same folder and a rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
