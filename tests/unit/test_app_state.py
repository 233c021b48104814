"""URL parameters ⇄ search state, and the excerpt basket (pure logic, no Streamlit)."""

from __future__ import annotations

import pytest

from kensaku.app.state import Basket, SearchState, filter_values
from tests.support import SMALL_FINDINGS

KNOWN = {"muni": {"加賀市", "松山市"}, "chapter": {"推進体制"}, "section": {"庁内体制"}}


def params_getter(params: dict[str, list[str]]):
    return lambda key: params.get(key, [])


def test_round_trip() -> None:
    state = SearchState("フェローの契約形態は", 5, ("加賀市", "松山市"), ("推進体制",), ("庁内体制",), True)
    params = {k: v if isinstance(v, list) else [v] for k, v in state.to_params().items()}
    assert SearchState.from_params(params_getter(params), KNOWN) == state
    assert SearchState().to_params() == {}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"k": ["abc"]}, SearchState()),
        ({"k": ["0"]}, SearchState(k=1)),
        ({"k": ["99999"]}, SearchState(k=1000)),
        ({"muni": ["<script>", "加賀市"]}, SearchState(municipalities=("加賀市",))),
        ({"lessons": ["yes"]}, SearchState()),
        ({"q": ["あ" * 5000]}, SearchState(query="あ" * 2000)),
    ],
)
def test_bad_parameters_are_dropped_not_errors(params: dict[str, list[str]], expected: SearchState) -> None:
    assert SearchState.from_params(params_getter(params), KNOWN) == expected


def test_filters_and_values() -> None:
    assert SearchState(lessons_only=True, municipalities=("加賀市",)).filters.kinds == ("lesson",)
    values = filter_values(SMALL_FINDINGS)
    assert values["muni"] == sorted({"加賀市", "会津若松市", "仙台市（泉区）", "松山市"})
    assert values["chapter"] == ["推進体制", "費用負担"]


def test_basket_keeps_pick_order() -> None:
    basket = Basket()
    basket.set("a", 0.5, True)
    basket.set("b", 0.7, True)
    basket.set("a", 0.9, True)  # picking again keeps the first score and position
    basket.set("c", 0.1, False)
    assert basket.items == {"a": 0.5, "b": 0.7}
    basket.set("a", 0.5, False)
    assert list(basket.items) == ["b"]


def test_widget_values_round_trip() -> None:
    state = SearchState("質問", 7, ("加賀市",), ("推進体制",), (), True)
    assert SearchState.from_widgets("質問", state.widget_values()) == state
