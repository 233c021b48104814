"""The app's 索引を再作成 takes the index's writer lock: while another process writes the index it says who (in
Japanese, with the start time in JST) instead of building over it, and rebuilds once that process is gone."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kensaku import Index
from tests.support import ROOT

APP = str(ROOT / "search_app.py")
HOLDER = """
import sys, time
from pathlib import Path
from kensaku.writelock import write_lock
with write_lock(Path(sys.argv[1]), 0):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_rebuild_names_the_process_that_holds_the_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    doc = tmp_path / "メモ.md"
    doc.write_text("# メモ\n\n- フェローは業務委託契約で採用した。\n", encoding="utf-8")
    index = tmp_path / "index"
    Index.build([doc], index)
    monkeypatch.setenv("KENSAKU_INDEX", str(index))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(index)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        at.button(key="rebuild").click()
        at.run()
        assert not at.exception and not at.success
        message = at.error[0].value
        assert f"PID {holder.pid}（ホスト {socket.gethostname()}、開始時刻 " in message and " JST、" in message
        assert "作成中のため、再作成できませんでした" in message
    finally:
        holder.kill()
        holder.wait()
    at.button(key="rebuild").click()
    at.run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("索引を再作成しました（1 件、文書 1 件")
