"""``RemoteIndex`` (the app's view of an index served by ``kensaku serve``) against a real uvicorn process on the seed
index: everything the app reads through it equals what it reads from the local :class:`~kensaku.Index` — the
manifest, filter options and counts (:mod:`kensaku.serve_browse`), pages of results with their relevance cut-off,
positions, neighbours and ■ sections, similar cases, findings, documents and export bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kensaku import Index
from kensaku.app.source import around, filter_options, matching_count, rows_of, section_of
from kensaku.client import ServerError
from kensaku.errors import FindingNotFoundError, QueryError, SourceNotFoundError
from kensaku.index.search import Filters
from kensaku.remote import RemoteIndex
from tests.e2e.test_serve import serve

QUESTIONS = ("フェローの契約形態は", "住民に費用を負担してもらう仕組み", "大学と連携するメリット")


@pytest.fixture(scope="module")
def served(seed_index: Path) -> Iterator[str]:
    with serve(seed_index, "--rate-limit", "0") as url:
        yield url


@pytest.fixture(scope="module")
def pair(served: str, seed_index: Path) -> tuple[RemoteIndex, Index]:
    return RemoteIndex(served), Index.open(seed_index)


def test_the_manifest_and_the_stale_list_are_the_index_s(pair: tuple[RemoteIndex, Index]) -> None:
    remote, local = pair
    assert remote.manifest == local.manifest and remote.fingerprint == local.fingerprint == remote.stamp()
    assert remote.stale == local.stale and remote.update_command() == local.update_command()
    assert len(remote) == len(local) == 280
    assert remote.tokenizer.tokenize("フェローの契約形態") == local.tokenizer.tokenize("フェローの契約形態")


def test_filter_options_and_counts_equal_the_local_ones(pair: tuple[RemoteIndex, Index]) -> None:
    remote, local = pair
    chapter = local.findings[0].chapter
    for chosen, lessons_only in [({}, False), ({"muni": ["加賀市"]}, True), ({"chapter": [chapter]}, False),
                                 ({"muni": ["加賀市", "会津若松市"], "section": ["存在しない節"]}, False)]:  # fmt: skip
        assert filter_options(remote, chosen, lessons_only) == filter_options(local, chosen, lessons_only)
        assert matching_count(remote, chosen, lessons_only) == matching_count(local, chosen, lessons_only)
    assert matching_count(remote, {"muni": ["加賀市"]}, True) > 0
    assert matching_count(remote, {"section": ["存在しない節"]}, False) == 0


def test_results_context_and_similar_equal_the_local_ones(pair: tuple[RemoteIndex, Index]) -> None:
    remote, local = pair
    for question in QUESTIONS:
        for filters in (None, Filters(municipalities=["加賀市"], kinds=["lesson"])):
            got, want = (
                remote.query(question, 8, offset=2, filters=filters),
                local.query(question, 8, offset=2, filters=filters),
            )
            assert [(h.finding, h.rank) for h in got.hits] == [(h.finding, h.rank) for h in want.hits]
            assert [h.score for h in got.hits] == pytest.approx(
                [h.score for h in want.hits], abs=1e-6
            )  # JSON: 6 places
            assert (got.total, got.answerable, got.offset, got.total_exact) == (want.total, want.answerable, 2, True)
            assert [got.relevant(h) for h in got.hits] == [want.relevant(h) for h in want.hits]
        ids = [hit.finding.id for hit in got.hits]
        positions = rows_of(remote, ids)
        assert positions == {i: rows_of(local, [])[i] for i in ids}
        for finding_id in ids:
            assert remote.finding(finding_id) == local.finding(finding_id)
            assert around(remote, finding_id, finding_id) == around(local, finding_id, finding_id)
            assert section_of(remote, finding_id) == section_of(local, finding_id)
        mine = remote.similar(ids[0], k=3, other_municipalities=True)
        assert [h.finding for h in mine] == [h.finding for h in local.similar(ids[0], k=3, other_municipalities=True)]
    assert remote.documents() == local.documents()


def test_a_card_s_neighbours_span_its_findings(pair: tuple[RemoteIndex, Index]) -> None:
    remote, local = pair
    first, last = local.findings[10].id, local.findings[12].id
    assert around(remote, first, last) == around(local, first, last)
    assert around(remote, first, last).next == local.findings[13]


def test_exports_are_the_bytes_of_the_local_index(pair: tuple[RemoteIndex, Index]) -> None:
    remote, local = pair
    created = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    hits = local.search(QUESTIONS[0], 5)
    for fmt in ("md", "csv", "json", "xlsx", "docx"):
        assert remote.export(hits, fmt, query=QUESTIONS[0], created=created) == local.export(
            hits, fmt, query=QUESTIONS[0], created=created
        ), fmt


def test_errors_come_back_as_the_library_s(pair: tuple[RemoteIndex, Index], served: str) -> None:
    remote, _ = pair
    with pytest.raises(FindingNotFoundError, match="no finding with id 'nope'"):
        remote.finding("nope")
    with pytest.raises(FindingNotFoundError):
        remote.section("nope")
    with pytest.raises(QueryError, match="empty"):
        remote.query("   ")
    with pytest.raises(QueryError, match="reranks with its own settings"):
        remote.query(QUESTIONS[0], reranker=object())
    with pytest.raises(QueryError, match="加賀"):
        remote.query(QUESTIONS[0], filters=Filters(municipalities=["加賀"]))
    with pytest.raises(FindingNotFoundError, match="'nope'"):
        remote.neighbours(remote.query("フェロー", 1).hits[0].finding.id, "nope")
    with pytest.raises(ServerError, match=r"cannot reach the server at http://127\.0\.0\.1:1"):
        RemoteIndex("http://127.0.0.1:1")


def test_original_files_come_from_the_server(pair: tuple[RemoteIndex, Index]) -> None:
    remote, local = pair
    (document,) = local.documents()
    assert remote.available_files() == {document.name}
    assert remote.document_file(document.name) == Path(document.path).read_bytes()
    with pytest.raises(SourceNotFoundError, match=r"no document named 'nope\.pdf' in this index"):
        remote.document_file("nope.pdf")
