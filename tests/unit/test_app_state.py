"""URL parameters ⇄ search state (pure logic, no Streamlit)."""

from __future__ import annotations

import pytest

from kensaku.app.state import SearchState

KNOWN = {
    "muni": {"加賀市", "松山市"},
    "chapter": {"推進体制"},
    "section": {"庁内体制"},
    "doc": {"報告書.txt", "白書 2023.pdf"},
    "year": {"2023"},
}


def params_getter(params: dict[str, list[str]]):
    return lambda key: params.get(key, [])


def test_round_trip() -> None:
    state = SearchState(
        "フェローの契約形態は", 5, ("加賀市", "松山市"), ("推進体制",), ("庁内体制",), True,
        documents=("白書 2023.pdf",), years=("2023",), page=3,
    )  # fmt: skip
    params = {k: v if isinstance(v, list) else [v] for k, v in state.to_params().items()}
    assert params["doc"] == ["白書 2023.pdf"] and params["year"] == ["2023"] and params["p"] == ["3"]
    assert SearchState.from_params(params_getter(params), KNOWN) == state
    assert SearchState().to_params() == {}
    assert state.offset == 10


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"k": ["abc"]}, SearchState()),
        ({"k": ["0"]}, SearchState(k=1)),
        ({"k": ["99999"]}, SearchState(k=1000)),
        ({"muni": ["<script>", "加賀市"]}, SearchState(municipalities=("加賀市",))),
        ({"doc": ["../etc/passwd", "報告書.txt"]}, SearchState(documents=("報告書.txt",))),
        ({"year": ["令和5", "2023"]}, SearchState(years=("2023",))),
        ({"lessons": ["yes"]}, SearchState()),
        ({"p": ["0"]}, SearchState(page=1)),
        ({"p": ["x"]}, SearchState()),
        ({"p": ["99999999"]}, SearchState(page=1000)),
        ({"q": ["あ" * 5000]}, SearchState(query="あ" * 2000)),
    ],
)
def test_bad_parameters_are_dropped_not_errors(params: dict[str, list[str]], expected: SearchState) -> None:
    assert SearchState.from_params(params_getter(params), KNOWN) == expected


def test_filters() -> None:
    filters = SearchState(
        lessons_only=True, municipalities=("加賀市",), documents=("報告書.txt",), years=("2023",)
    ).filters
    assert filters.kinds == ("lesson",) and filters.documents == ("報告書.txt",) and filters.years == ("2023",)
    assert not SearchState().filters.active
    assert SearchState(chapters=("推進体制",)).chosen["chapter"] == ("推進体制",)


def test_widget_values_round_trip() -> None:
    state = SearchState("質問", 7, ("加賀市",), ("推進体制",), (), True, documents=("報告書.txt",), page=2)
    assert SearchState.from_widgets("質問", state.widget_values()) == state
    assert SearchState.from_widgets("質問", {}) == SearchState("質問")  # widgets not drawn yet: defaults
