"""A mistyped index path names the indexes it may have meant (beside it, inside it, the project's default) and
suggests building a new one only when there is none; paths are absolute so the message works from anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from kensaku.errors import IndexMissingError
from kensaku.index.store import MANIFEST, missing_index, nearby_indexes, read_manifest


def make_index(path: Path) -> Path:
    """A folder that looks like an index to the suggestions (they only look for its manifest)."""
    path.mkdir(parents=True)
    (path / MANIFEST).write_text("{}", encoding="utf-8")
    return path


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder without an index, no $KENSAKU_INDEX: the default index (./.kensaku/index) is absent."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KENSAKU_INDEX", raising=False)
    return tmp_path


def test_a_typo_beside_an_index_suggests_it(project: Path) -> None:
    index = make_index(project / "data" / "index")
    make_index(project / "data" / "other")
    (project / "data" / "notes").mkdir()
    with pytest.raises(IndexMissingError) as error:
        read_manifest(Path("data/indx"))
    assert error.value.reason == f"no index at {project}/data/indx (did you mean {index} or {project}/data/other?)"
    assert "kensaku build" not in str(error.value)


def test_the_default_index_is_suggested_for_a_wrong_path(project: Path) -> None:
    default = make_index(project / ".kensaku" / "index")
    assert nearby_indexes(Path("typo/path")) == [default]
    assert str(missing_index(Path("typo/path"))).startswith(
        f"no index at {project}/typo/path (did you mean {default}?)"
    )


def test_the_default_index_follows_kensaku_index(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = make_index(project / "srv" / "idx")
    monkeypatch.setenv("KENSAKU_INDEX", str(chosen))
    assert nearby_indexes(project / "elsewhere" / "x") == [chosen]


def test_a_parent_folder_or_a_misspelt_parent_finds_the_index(project: Path) -> None:
    index = make_index(project / ".kensaku" / "index")
    assert nearby_indexes(project / ".kensaku") == [index]  # the folder holding the index
    assert nearby_indexes(project / ".kensak" / "index") == [index]  # a typo in the parent


def test_leftovers_of_a_build_are_not_suggested(project: Path) -> None:
    make_index(project / "ix" / ".index.tmp-123-ab12")
    make_index(project / "ix" / ".index.old-123")
    assert nearby_indexes(project / "ix" / "index") == []


def test_with_nothing_near_it_says_how_to_build_one(project: Path) -> None:
    with pytest.raises(IndexMissingError) as error:
        read_manifest(project / "my index")
    assert error.value.reason == f"no index at {project}/my index"
    assert error.value.fix == f"build one with `kensaku build PATH ... --index '{project}/my index'`"
    (project / "empty").mkdir()
    assert missing_index(project / "empty").reason == f"no index at {project}/empty (the folder has no {MANIFEST})"
