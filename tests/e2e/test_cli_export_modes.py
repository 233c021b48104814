"""The installed ``kensaku`` console script writes exports a colleague can read: mode 0644 under umask 022 (not the
0600 of a temporary file), in the current folder by default, every format of one call at once."""

from __future__ import annotations

import csv
import os
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl


def test_exports_are_0644_under_umask_022_in_the_current_folder(seed_index: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "kensaku"
    argv = [str(exe), "export", "--query", "フェローの契約形態は", "--format", "md,csv,xlsx", "-k", "3"]
    env = {**os.environ, "KENSAKU_INDEX": str(seed_index)}
    done = subprocess.run(
        [*argv, "--no-progress"], capture_output=True, text=True, env=env, cwd=tmp_path, umask=0o022, check=False
    )
    assert done.returncode == 0, done.stderr
    written = sorted(tmp_path.glob("kensaku_excerpts_*"))
    assert [p.suffix for p in written] == [".csv", ".md", ".xlsx"]
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {"0o644"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    assert done.stdout.count("wrote 3 excerpt(s) to kensaku_excerpts_") == 3
    rows = list(csv.DictReader(written[0].read_text(encoding="utf-8-sig").splitlines()))
    sheet = openpyxl.load_workbook(written[2])["抜粋"]
    assert [r["ID"] for r in rows] == [row[15].value for row in sheet.iter_rows(min_row=2)]
