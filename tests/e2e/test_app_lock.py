"""The 文書 page's 「索引を作り直す」 takes the index's writer lock: while another process writes the index it says
who (in Japanese, with the start time in JST, the original message in 「詳細（原文）」) instead of building over it,
and rebuilds once that process is gone."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kensaku import Index

DOCUMENTS_PAGE = "from kensaku.app import documents_page\ndocuments_page.main()\n"
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
    monkeypatch.setenv("KENSAKU_DOCUMENTS", str(tmp_path / "documents"))
    at = AppTest.from_string(DOCUMENTS_PAGE, default_timeout=120)
    at.run()
    assert not at.exception
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(index)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        at.button(key="rebuild").click()
        at.run()
        assert not at.exception and not at.success
        message = at.error[0].value
        assert message.startswith("索引を作り直せませんでした。索引は PID ")
        assert f"PID {holder.pid}（ホスト {socket.gethostname()}、開始時刻 " in message and " JST、" in message
        assert "が更新中です。終わってからもう一度お試しください。" in message
        assert at.expander[0].label == "詳細（原文）" and "IndexLockedError" in at.expander[0].markdown[0].value
    finally:
        holder.kill()
        holder.wait()
    at.button(key="rebuild").click()
    at.run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("索引を作り直しました（文書 1 件、事例 1 件")
