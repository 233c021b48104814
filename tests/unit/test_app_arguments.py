"""``streamlit run search_app.py -- --server URL`` (``make run SERVER=URL``) becomes ``$KENSAKU_SERVER``, which the
pages read through ``Settings.from_env`` (where a bad URL is refused with the fix)."""

from __future__ import annotations

import pytest

from kensaku.app.loader import use_arguments
from kensaku.config import Settings
from kensaku.errors import InputError


@pytest.mark.parametrize(
    "argv",
    [
        ["--server", "http://127.0.0.1:8765/"],
        ["--server=http://127.0.0.1:8765"],
        ["x", "--server", "http://127.0.0.1:8765"],
    ],
)
def test_the_server_argument_sets_the_environment(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KENSAKU_SERVER", raising=False)
    use_arguments(argv)
    assert Settings.from_env().server == "http://127.0.0.1:8765"


def test_no_argument_leaves_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSAKU_SERVER", "http://10.0.0.5:8765")
    use_arguments([])
    use_arguments(["--server"])  # no value: nothing taken
    assert Settings.from_env().server == "http://10.0.0.5:8765"


@pytest.mark.parametrize("bad", ["127.0.0.1:8765", "ftp://host", "http://"])
def test_a_bad_server_url_is_refused_with_the_fix(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSAKU_SERVER", bad)
    with pytest.raises(InputError, match=r"is not a server URL.*http://127\.0\.0\.1:8765"):
        Settings.from_env()
