"""The document library through the installed ``kensaku`` console script, each command its own process, in a
project with its own ``kensaku.toml`` and run from a subfolder: a new index starts from the project's corpus,
documents added later survive ``kensaku build --if-needed`` without paths (what ``make run`` does), and ``remove``,
``documents`` and ``meta`` work on the index the project file names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.integration.test_library import ORDINANCES, write_docx, write_pdf

EXE = Path(sys.executable).parent / "kensaku"
JOREI = ("gyosei_tetsuzuki_ho_excerpt.txt", "katsuragi_chushajo_jorei.txt", "katsuragi_kaihan_seibi_jorei.txt")


def kensaku(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENSAKU_") or k == "KENSAKU_CACHE"}
    env["KENSAKU_DOCUMENTS"] = str(cwd / "uploads")
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600, check=False)


def ok(cwd: Path, *args: str) -> str:
    proc = kensaku(cwd, *args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def test_library_commands_as_processes(tmp_path: Path) -> None:
    project = tmp_path / "防災 案件"
    (project / "例規").mkdir(parents=True)
    for name in JOREI:
        shutil.copy(ORDINANCES / name, project / "例規" / name)
    (project / "kensaku.toml").write_text('index = "索引"\ncorpus = "例規"\n', encoding="utf-8")
    work = project / "受付" / "今日"
    work.mkdir(parents=True)
    write_pdf(work / "a.pdf")
    write_docx(work / "b.docx")

    built = json.loads(ok(work, "build", "--no-progress", "--no-ocr", "--format", "json"))  # new: the corpus
    assert built["documents"] == 3 and Path(built["index"]).resolve() == (project / "索引").resolve()
    added = json.loads(
        ok(work, "add", "a.pdf", "b.docx", "--municipality", "加賀市", "--year", "令和5年度", "--tag", "防災",
           "--no-progress", "--no-ocr", "--format", "json")
    )  # fmt: skip
    assert added["documents"] == 5
    kept = json.loads(ok(project, "build", "--if-needed", "--no-progress", "--format", "json"))
    assert (kept["built"], kept["documents"]) == (False, 5)
    again = json.loads(ok(project, "build", "--no-progress", "--no-ocr", "--format", "json"))
    assert (again["documents"], again["reuse"]["removed"], again["reuse"]["embedded"]) == (5, 0, 0)

    documents = json.loads(ok(work, "documents", "--format", "json"))
    by_name = {d["name"]: d for d in documents}
    assert len(documents) == 5 and set(by_name) >= {"a.pdf", "b.docx"}
    assert (by_name["a.pdf"]["municipality"], by_name["a.pdf"]["year"], by_name["a.pdf"]["tags"]) == (
        "加賀市",
        2023,
        ["防災"],
    )
    assert by_name["a.pdf"]["kind"] == "pdf" and by_name["a.pdf"]["owned"] is False

    meta = json.loads(
        ok(work, "meta", "b.docx", "--municipality", "金沢市", "--title", "外部人材の活用", "--format", "json")
    )
    assert meta["document"]["municipality"] == "金沢市" and meta["document"]["tags"] == ["防災"]
    assert meta["document"]["year"] == 2023 and meta["reuse"]["embedded"] == 0
    text = ok(work, "documents")
    assert "金沢市" in text and "外部人材の活用" in text and "5 document(s)" in text

    refused = kensaku(work, "remove", str(project / "例規" / JOREI[0]))
    assert refused.returncode == 2 and "is in the folder" in refused.stderr and "Traceback" not in refused.stderr
    unknown = kensaku(work, "remove", "c.pdf")
    assert unknown.returncode == 2 and "is not in the index" in unknown.stderr
    removed = json.loads(ok(work, "remove", "a.pdf", "--format", "json", "--no-progress"))
    assert removed["documents"] == 4 and removed["removed"] == [str((work / "a.pdf").resolve())]
    assert removed["deleted"] == [] and (work / "a.pdf").exists()  # not in the documents folder: kept
    cleared = json.loads(ok(work, "meta", "b.docx", "--clear", "--format", "json"))
    assert (cleared["document"]["municipality"], cleared["document"]["tags"]) != ("金沢市", ["防災"])
    assert cleared["document"]["tags"] == []
