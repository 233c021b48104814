"""The excerpt basket: order, notes, unknown scores, serialisation and its file (pure logic, real files)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kensaku.app.basket import URL_MAX_ITEMS, Basket, BasketItem, BasketStore, new_token, valid_token
from tests.support import SMALL_FINDINGS

BY_ID = {f.id: f for f in SMALL_FINDINGS}
A, B, C = (f.id for f in SMALL_FINDINGS[:3])


def filled() -> Basket:
    basket = Basket()
    basket.add(A, "フェローの契約形態は", 0.031)
    basket.add(B, "住民に費用を負担してもらう仕組み", 0.028)
    basket.add(C, "大学と連携するメリット", math.nan)
    return basket


def test_add_keeps_first_pick_and_order() -> None:
    basket = filled()
    basket.add(A, "別の質問", 0.9)
    assert basket.ids == [A, B, C] and basket.items[0] == BasketItem(A, "フェローの契約形態は", 0.031)
    assert A in basket and "x" not in basket and len(basket) == 3


def test_move_remove_and_note() -> None:
    basket = filled()
    basket.move(C, -1)
    assert basket.ids == [A, C, B]
    basket.move(A, -1)  # already first
    basket.move(B, 1)  # already last
    assert basket.ids == [A, C, B]
    basket.move(A, 2)
    assert basket.ids == [C, B, A]
    basket.set_note(B, "議会答弁に使う")
    assert [i.note for i in basket.items] == ["", "議会答弁に使う", ""]
    basket.remove(B)
    basket.remove("missing")
    assert basket.ids == [C, A]


def test_hits_carry_the_picked_score_or_nan_never_zero() -> None:
    basket = filled()
    hits = basket.hits(BY_ID.__getitem__)
    assert [h.rank for h in hits] == [1, 2, 3] and [h.finding.id for h in hits] == [A, B, C]
    assert hits[0].score == 0.031 and math.isnan(hits[2].score)
    assert all(math.isnan(h.bm25) and math.isnan(h.dense) for h in hits)
    basket.add("gone:L1", "質問", 0.5)
    assert len(basket.hits(BY_ID.__getitem__)) == 3  # a finding no longer in the index is left out


def test_json_round_trip_keeps_questions_notes_and_unknown_scores() -> None:
    basket = filled()
    basket.set_note(A, "メモ：<b>太字</b>")
    text = basket.to_json()
    assert json.loads(text)["items"][2]["score"] is None  # NaN is stored as null, not 0
    again = Basket.from_json(text)
    assert again.ids == basket.ids and [i.query for i in again.items] == [i.query for i in basket.items]
    assert again.items[0].note == "メモ：<b>太字</b>" and math.isnan(again.items[2].score)


@pytest.mark.parametrize(
    "text",
    ["", "not json", "[]", '{"items": 3}', '{"items": [1, {"id": ""}, {"id": 5}, {"query": "q"}]}'],
)
def test_malformed_json_gives_an_empty_basket(text: str) -> None:
    assert Basket.from_json(text).items == []


def test_malformed_fields_are_repaired() -> None:
    basket = Basket.from_json('{"items": [{"id": "a", "query": 1, "score": "x", "note": null}, {"id": "a"}]}')
    assert len(basket) == 1 and basket.items[0].query == "" and math.isnan(basket.items[0].score)


def test_url_ids_only_when_small() -> None:
    basket = filled()
    assert basket.url_ids() == [A, B, C]
    assert Basket.from_ids(basket.url_ids()).ids == [A, B, C]
    assert all(math.isnan(i.score) and i.query == "" for i in Basket.from_ids([A]).items)
    big = Basket.from_ids([f"doc:L{n}" for n in range(URL_MAX_ITEMS + 1)])
    assert big.url_ids() == []


def test_store_round_trip_and_tokens(tmp_path: Path) -> None:
    store = BasketStore(tmp_path / "baskets")
    token = new_token()
    assert valid_token(token)
    assert store.load(token) is None
    store.save(token, filled())
    assert store.load(token) is not None and store.load(token).ids == [A, B, C]  # type: ignore[union-attr]
    assert [p.name for p in (tmp_path / "baskets").iterdir()] == [f"{token}.json"]  # no temporary file left
    for bad in ("../../etc/passwd", "short", "a/b" * 10, ""):
        assert not valid_token(bad) and store.load(bad) is None
        with pytest.raises(ValueError):
            store.path(bad)
