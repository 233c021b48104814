"""Files and folders kensaku writes get the permissions ``open()`` and ``mkdir`` give (the umask decides), not the
0600/0700 of ``tempfile``; a file that is replaced keeps its mode.

Each case runs in a child process with its own umask, so this test process's umask is never changed.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kensaku.files import atomic_file

WRITE = """
import json, os, stat, sys
from pathlib import Path
from kensaku.files import atomic_directory, atomic_file
os.umask(int(sys.argv[1], 8))
root = Path(sys.argv[2])
atomic_file(root / "new" / "抜粋.csv", "順位,抜粋\\r\\n".encode())
with atomic_directory(root / "index") as tmp:
    (tmp / "manifest.json").write_text("{}")
leftovers = [p.name for p in root.iterdir() if p.name.startswith(".")]
mode = lambda p: stat.S_IMODE(p.stat().st_mode)
print(json.dumps({"file": mode(root / "new" / "抜粋.csv"), "folder": mode(root / "index"),
                  "made": mode(root / "new"), "leftovers": leftovers}))
"""


def modes_under(umask: int, root: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", WRITE, f"{umask:o}", str(root)], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_new_files_and_folders_follow_the_umask(tmp_path: Path, umask: int, file_mode: int, folder_mode: int) -> None:
    modes = modes_under(umask, tmp_path)
    assert modes == {"file": file_mode, "folder": folder_mode, "made": folder_mode, "leftovers": []}


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "excerpts.md"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_file(target, "新しい内容".encode())
    assert target.read_text(encoding="utf-8") == "新しい内容"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["excerpts.md"]  # no temporary file left behind


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "excerpts.md"
    target.write_bytes(b"old")

    with pytest.raises(TypeError):
        atomic_file(target, 12345)  # type: ignore[arg-type]  # not bytes: the write fails
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["excerpts.md"]
