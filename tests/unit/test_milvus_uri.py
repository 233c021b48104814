"""The backend URI: every accepted form, and every refusal naming the value and the fix (no Milvus needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kensaku.errors import InputError
from kensaku.index.milvus_uri import TOKEN_ENV, TOKEN_FILE_ENV, BackendURIError, parse_backend


def test_local_is_the_default() -> None:
    for text in (None, "", "local", "  local "):
        uri = parse_backend(text, {})
        assert uri.kind == "local" and uri.is_local and uri.address == ""


def test_lite_file_absolute_relative_and_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = parse_backend(f"milvus://{tmp_path}/x.db", {})
    assert (uri.kind, uri.address, uri.collection) == ("lite", str(tmp_path / "x.db"), "kensaku")
    monkeypatch.chdir(tmp_path)
    assert parse_backend("milvus://./y.db", {}).address == str(tmp_path / "y.db")
    assert parse_backend("milvus://z.db", {}).address == str(tmp_path / "z.db")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_backend("milvus://~/h.db", {}).address == str(tmp_path / "h.db")
    assert parse_backend(f"milvus://{tmp_path}/x.db?collection=reports_2026", {}).stats_collection == (
        "reports_2026_stats"
    )


def test_servers_with_default_ports_and_token_from_the_environment(tmp_path: Path) -> None:
    uri = parse_backend("milvus://milvus.internal:19530", {TOKEN_ENV: " root:Milvus "})
    assert (uri.kind, uri.address, uri.token) == ("server", "http://milvus.internal:19530", "root:Milvus")
    assert "root:Milvus" not in repr(uri)
    assert parse_backend("milvus://10.0.0.5", {}).address == "http://10.0.0.5:19530"
    assert parse_backend("http://h:1234", {}).address == "http://h:1234"
    assert parse_backend("https://in01.cloud.example", {}).address == "https://in01.cloud.example:443"
    assert parse_backend("milvus://[::1]:19530", {}).address == "http://[::1]:19530"
    token_file = tmp_path / "token"
    token_file.write_text("api-key-123\n", encoding="utf-8")
    assert parse_backend("https://h:8443", {TOKEN_FILE_ENV: str(token_file)}).token == "api-key-123"
    assert parse_backend("https://h", {TOKEN_ENV: "a", TOKEN_FILE_ENV: str(token_file)}).token == "a"


@pytest.mark.parametrize(
    ("text", "reason", "fix"),
    [
        ("faiss", "unknown backend 'faiss'", "milvus://host:19530"),
        ("redis://h:6379", "unknown backend scheme 'redis'", "milvus:///abs/path/x.db"),
        ("milvus://h:0", "not a port number", "1 to 65535"),
        ("milvus://h:port", "not a port number", "1 to 65535"),
        ("milvus://root:secret@h:19530", "holds a user or token", f"${TOKEN_ENV}"),
        ("milvus://h:19530/db/x", "has a path", "milvus://host:19530"),
        ("milvus:///tmp/x.sqlite", "does not end in .db", "findings.db"),
        ("milvus://h?collection=1bad", "collection name '1bad'", "letters, digits"),
        ("milvus://h?db=x", "unknown option 'db'", "?collection=NAME"),
        ("https://", "has no host", "milvus://host:19530"),
    ],
)
def test_refusals_name_the_value_and_the_fix(text: str, reason: str, fix: str) -> None:
    with pytest.raises(BackendURIError) as caught:
        parse_backend(text, {})
    assert isinstance(caught.value, InputError)
    assert reason in caught.value.reason and fix in caught.value.fix
    assert "secret" not in str(caught.value)


def test_lite_file_in_a_missing_folder_or_a_folder(tmp_path: Path) -> None:
    with pytest.raises(BackendURIError) as caught:
        parse_backend(f"milvus://{tmp_path}/nowhere/x.db", {})
    assert f"{tmp_path}/nowhere" in caught.value.reason and "mkdir -p" in caught.value.fix
    (tmp_path / "d.db").mkdir()
    with pytest.raises(BackendURIError, match="is a folder"):
        parse_backend(f"milvus://{tmp_path}/d.db", {})


def test_unreadable_or_empty_token_file(tmp_path: Path) -> None:
    with pytest.raises(BackendURIError, match="cannot be read") as caught:
        parse_backend("milvus://h", {TOKEN_FILE_ENV: str(tmp_path / "missing")})
    assert "first line" in caught.value.fix
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    with pytest.raises(BackendURIError, match="is empty"):
        parse_backend("milvus://h", {TOKEN_FILE_ENV: str(tmp_path / "empty")})
