"""An index whose documents changed since the build still opens and searches, and says so: the API names the
changes, the command line warns on stderr with the command that updates the index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kensaku import Index
from kensaku.cli import main
from kensaku.errors import IndexMismatchError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "format5" / "加賀市の事例.txt"


def test_changed_document_is_searched_as_built_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "docs" / "加賀市の事例.txt"
    doc.parent.mkdir()
    shutil.copy(FIXTURE, doc)
    index_dir = tmp_path / "index"
    built = Index.build([doc], index_dir)
    before = [h.finding.id for h in built.search("フェローの契約形態は", k=3)]
    assert Index.open(index_dir).stale == []

    doc.write_text(doc.read_text(encoding="utf-8") + "\n■ 追記\n- 新しい取組を始めた。\n", encoding="utf-8")
    index = Index.open(index_dir)
    assert index.stale == [f"{doc.resolve()} (changed)"]
    assert [h.finding.id for h in index.search("フェローの契約形態は", k=3)] == before
    assert index.update_command() == f"kensaku build --index {index_dir.resolve()}"

    code = main(["search", "フェローの契約形態は", "--index", str(index_dir), "--format", "json", "-k", "3"])
    out, err = capsys.readouterr()
    assert code == 0
    assert [r["id"] for r in json.loads(out)["results"]] == before
    assert "warning: the index is out of date" in err and "(changed)" in err
    assert f"kensaku build --index {index_dir.resolve()}" in err

    doc.unlink()
    assert Index.open(index_dir).stale == [f"{doc.resolve()} (missing)"]
    with pytest.raises(IndexMismatchError, match="out of date"):
        Index.open(index_dir, verify_sources=True)  # the strict open still refuses
