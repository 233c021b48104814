"""The client turns a server's JSON back into the objects a local search returns: :func:`hit_of` gives the
:class:`Hit` (finding and every score) whose ``to_dict`` is the row it came from, :func:`results_of` a search's
:class:`Results` or similar's ``(query, hits)``; an unreachable server is a :class:`ServerError` naming the fix."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from kensaku.client import Client, ServerError, hit_of, results_of
from kensaku.index.search import Hit, Results
from kensaku.terminal import block_dict
from tests.e2e.browser_support import free_port
from tests.support import SMALL_FINDINGS

FINDING = replace(SMALL_FINDINGS[0], page=3, title="報告書", extra={"year": "2024", "topic": "体制"})
HITS = [
    Hit(1, 0.912345, FINDING, 3.25, 0.875, 1, 2, relevance=0.75, rerank=1.5),
    Hit(2, 0.5, SMALL_FINDINGS[3], 1.0, 0.7, 0, 3),
]


def through_json(data: dict[str, object]) -> dict[str, object]:
    """``data`` as it arrives from a server."""
    loaded: dict[str, object] = json.loads(json.dumps(data, ensure_ascii=False))
    return loaded


@pytest.mark.parametrize("hit", HITS, ids=["all-scores", "no-relevance"])
def test_hit_of_a_row_is_the_hit(hit: Hit) -> None:
    row = through_json(hit.to_dict())
    again = hit_of(row)
    assert again == hit and again.finding == hit.finding
    assert again.to_dict() == row and list(again.to_dict()) == list(row)  # same keys in the same order


def test_hit_of_keeps_the_rounded_scores() -> None:
    hit = Hit(1, 0.123456789, SMALL_FINDINGS[1], 2.000000049, 0.3333333333, 4, 5)
    again = hit_of(through_json(hit.to_dict()))
    assert (again.score, again.bm25, again.dense) == (0.123457, 2.0, 0.333333)
    assert again.finding == hit.finding and again.relevance is None and again.rerank is None


@pytest.mark.parametrize(
    "results",
    [Results("フェローの契約形態は", HITS, 12, False, 20), Results("人材", HITS[:1], 40, True, 0, 0.078026, False)],
    ids=["uncalibrated", "cutoff-and-lower-bound"],
)
def test_results_of_a_search_block_is_the_results(results: Results) -> None:
    data = through_json(block_dict(results))
    assert results_of(data) == results and block_dict(results_of(data)) == data


def test_results_of_a_similar_block_is_query_and_hits() -> None:
    data = through_json({"query": FINDING.id, "results": [h.to_dict() for h in HITS]})
    assert results_of(data) == (FINDING.id, HITS)
    assert results_of({"query": "x", "results": []}) == ("x", [])


def test_an_unreachable_server_names_the_fix() -> None:
    with pytest.raises(ServerError) as caught:
        Client(f"http://127.0.0.1:{free_port()}", timeout=5).health()
    assert "cannot reach the server" in caught.value.reason and "kensaku serve" in caught.value.fix


class _Moving:
    """A stand-in client whose server's index is rebuilt between the searches (logic of the check only)."""

    def __init__(self) -> None:
        self.builds = iter(["aaaa", "bbbb"])

    def health(self) -> dict[str, str]:
        return {"fingerprint": next(self.builds)}

    def search(self, query: str, **_: object) -> dict[str, object]:
        return {"query": query, "results": []}


def test_an_export_through_a_server_whose_index_changed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from kensaku import serve_cli

    monkeypatch.setattr(serve_cli, "connect", lambda args: _Moving())
    args = argparse.Namespace(k=5, mode="hybrid", municipality=None, chapter=None, section=None, document=None,
                              year=None, kind=None)  # fmt: skip
    with pytest.raises(ServerError, match=r"changed during the export \(build aaaa → bbbb\); run the export again"):
        serve_cli.export_via_server(args, ["質問"])
