"""What the ``kensaku mcp`` tools do (:mod:`kensaku.mcp_server` registers them): plain methods on one open index,
and their answers as text for an assistant and as structured content.

A result's text numbers each excerpt and follows it with its citation (出典), which the assistant is asked to quote;
its structured content holds the same hits field for field as ``kensaku search --format json`` prints them. A
:class:`~kensaku.errors.KensakuError` becomes a tool error result with its one-line message (:func:`guarded`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mcp.types import CallToolResult, TextContent

from kensaku.errors import InputError, KensakuError

if TYPE_CHECKING:
    from kensaku.api import Index
    from kensaku.index.search import Filters, Hit, Results
    from kensaku.ingest.models import Finding

logger = logging.getLogger("kensaku")

MAX_K = 50  # hits one call may ask for (an assistant's context is the limit, not the index)
QUOTE_NOTE = "引用するときは各抜粋の「出典」をそのまま示してください。 Quote each excerpt with its 出典 (citation)."


# --- results as text --------------------------------------------------------------------------------------------------


def kind_text(kind: str) -> str:
    """``取組 (practice)``: the Japanese label of a finding kind and the kind itself."""
    from kensaku.export import kind_label

    return f"{kind_label(kind)} ({kind})"


def excerpt_text(number: int, finding: Finding) -> str:
    """One numbered excerpt: the text in 「」, then its citation, kind and id (what an assistant quotes)."""
    return (
        f"{number}. 「{finding.text}」\n"
        f"   出典 (citation): {finding.citation}\n"
        f"   種別 (kind): {kind_text(finding.kind)}｜ID: {finding.id}"
    )


def hits_text(heading: str, hits: Sequence[Hit], summary: Sequence[str] = ()) -> str:
    """A heading, the summary lines, the note on quoting and each hit as a numbered excerpt with its citation."""
    lines = [heading, *summary]
    if not hits:
        return "\n".join([*lines, "該当する事例はありません。 No finding matched."])
    excerpts = [excerpt_text(hit.rank, hit.finding) for hit in hits]
    return "\n\n".join(["\n".join([*lines, QUOTE_NOTE]), *excerpts])


def finding_text(finding: Finding, before: Finding | None, after: Finding | None) -> str:
    """One finding in full: text, citations, where it sits, and its neighbours in the document."""
    from kensaku.export import breadcrumbs, full_citation

    lines = [
        f"「{finding.text}」",
        f"出典 (citation): {finding.citation}",
        f"文献 (reference): {full_citation(finding)}",
        f"位置 (location): {breadcrumbs(finding) or '-'}｜{finding.location}",
        f"自治体 (municipality): {finding.municipality or '-'}｜種別 (kind): {kind_text(finding.kind)}",
        f"ID: {finding.id}",
    ]
    for label, other in (("前の事例 (previous)", before), ("次の事例 (next)", after)):
        if other is not None:
            lines += ["", f"{label}: 「{other.text}」", f"   出典 (citation): {other.citation}｜ID: {other.id}"]
    return "\n".join(lines)


def _result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def error_result(error: KensakuError) -> CallToolResult:
    """A tool error result with the error's one-line message (what is wrong; the fix)."""
    return CallToolResult(content=[TextContent(type="text", text=f"エラー (error): {error}")], is_error=True)


# --- the tools --------------------------------------------------------------------------------------------------------


class KensakuTools:
    """What the tools do, on one open index (plain methods: the MCP layer only calls them).

    Args:
        index: The open index (its model already loaded by :func:`open_for_serving`).
    """

    def __init__(self, index: Index) -> None:
        """Keep the index."""
        self.index = index

    def _filters(self, municipality: str | None, chapter: str | None, kind: str | None) -> Filters:
        """The filters of a search, each value checked against the index (an unknown one: the known values)."""
        from kensaku.filtercheck import check_filters
        from kensaku.index.search import Filters

        filters = Filters(
            municipalities=[municipality] if municipality else [],
            chapters=[chapter] if chapter else [],
            kinds=[kind] if kind else [],
        )
        check_filters(self.index.findings, filters)
        return filters

    def search(
        self, question: str, k: int, municipality: str | None, chapter: str | None, kind: str | None
    ) -> CallToolResult:
        """The ``k`` best findings for ``question`` (as ``kensaku search``: count, verdict, hits)."""
        from kensaku.terminal import block_dict, summary_lines

        _check_k(k)
        filters = self._filters(municipality, chapter, kind)
        results: Results = self.index.query(question, k, filters=filters)
        heading = f"検索 (search): {results.query}"
        return _result(hits_text(heading, results.hits, summary_lines(results)), block_dict(results))

    def similar_cases(
        self,
        finding_id: str | None,
        text: str | None,
        k: int,
        other_municipalities: bool,
        filters: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> CallToolResult:
        """Findings like one finding (by id, itself excluded) or like a text; ``filters`` (municipality, chapter,
        kind; checked as :meth:`search` checks them) restrict the similar findings."""
        from kensaku.terminal import block_dict

        _check_k(k)
        finding_id, text = (finding_id or "").strip() or None, (text or "").strip() or None
        if (finding_id is None) == (text is None):
            raise InputError("give finding_id or text (one of them)", "e.g. a finding id from the search tool")
        checked = self._filters(*filters)
        hits = self.index.similar(
            finding_id, text=text, k=k, other_municipalities=other_municipalities, filters=checked
        )
        source = f"ID {finding_id}" if finding_id else f"「{text}」"
        if finding_id:
            found = self.index.finding(finding_id)
            source += f"（{found.municipality or found.document}）"
        where = "、他の自治体 (other municipalities)" if other_municipalities and finding_id else ""
        heading = f"類似事例 (similar cases) {source}{where}"
        return _result(hits_text(heading, hits), block_dict((finding_id or text or "", hits)))

    def get_finding(self, finding_id: str) -> CallToolResult:
        """One finding with its citations and its neighbours in its document."""
        from kensaku.app.context import neighbours
        from kensaku.app.grouping import positions
        from kensaku.export import breadcrumbs, full_citation

        finding = self.index.finding(finding_id.strip())
        around = neighbours(self.index.findings, positions(self.index.findings), finding.id)
        structured: dict[str, Any] = {
            **finding.to_dict(),
            "location": finding.location,
            "path": breadcrumbs(finding),
            "reference": full_citation(finding),
            "previous": _brief(around.previous),
            "next": _brief(around.next),
        }
        return _result(finding_text(finding, around.previous, around.next), structured)

    def list_documents(self) -> CallToolResult:
        """The documents of the index, as ``kensaku documents`` lists them."""
        from kensaku.cli_library import describe_document

        documents = self.index.documents()
        head = f"{len(documents)} 件の文書 (documents), {len(self.index)} 件の事例 (findings)"
        text = "\n".join([head, *(describe_document(doc) for doc in documents)])
        return _result(text, {"documents": [doc.to_dict() for doc in documents]})


def _brief(finding: Finding | None) -> dict[str, str] | None:
    return None if finding is None else {"id": finding.id, "text": finding.text, "citation": finding.citation}


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise InputError(f"k={k} is out of range", f"use 1 to {MAX_K}")


def guarded(call: Callable[[], CallToolResult]) -> CallToolResult:
    """``call()``, or the tool error result of the :class:`KensakuError` it raised."""
    try:
        return call()
    except KensakuError as exc:
        logger.info("tool error: %s", exc)
        return error_result(exc)
