"""The installed ``kensaku`` console script in its own process: a refusal is one line and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "kensaku"
    env = {**os.environ, "KENSAKU_INDEX": str(tmp_path / "none")}
    proc = subprocess.run([str(exe), "search", "契約"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "kensaku: error: no index at" in proc.stderr and "Traceback" not in proc.stderr
