"""Typed values produced by ingestion: a source :class:`Document` and the :class:`Finding` segments cut from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["lesson", "practice"]
KINDS: tuple[Kind, ...] = ("lesson", "practice")


@dataclass(frozen=True)
class Document:
    """One source file, read into lines.

    Attributes:
        path: Path of the file as given to the reader (used for display and citation).
        name: File name shown in citations (e.g. ``smartcity_model_project_cases.txt``).
        title: Human title of the document (first heading or the file stem).
        lines: The decoded text, split into lines without their line ends; line ``n`` (1-based) is ``lines[n-1]``.
        sha256: Hex digest of the raw bytes, recorded in the index manifest.
        origins: For converted formats, the number cited for each line instead of its index: the line on its page
            (PDF), the paragraph number (DOCX) or the source line (HTML). Empty: line ``n`` is cited as ``n``.
        pages: 1-based page of each line for paged sources (PDF); empty for unpaged ones.
        page_labels: Printed label of each page (PDF ``/PageLabels``: ``iv``, ``A-3``), index ``page - 1``;
            empty when the source has none.
        line_unit: How positions are cited: ``L`` (lines) or ``¶`` (paragraphs, for DOCX).
        problems: Warnings found while reading (e.g. pages whose text layer is ``(cid:…)`` garbage); the document
            is still indexed.
    """

    path: str
    name: str
    title: str
    lines: tuple[str, ...]
    sha256: str
    origins: tuple[int, ...] = ()
    pages: tuple[int, ...] = ()
    page_labels: tuple[str, ...] = ()
    line_unit: Literal["L", "¶"] = "L"
    problems: tuple[str, ...] = ()

    def origin(self, line: int) -> int:
        """The number cited for 1-based ``line``."""
        return self.origins[line - 1] if self.origins else line

    def page(self, line: int) -> int | None:
        """The page of 1-based ``line``, or ``None`` for unpaged documents."""
        return self.pages[line - 1] if self.pages else None

    def page_label(self, page: int | None) -> str:
        """The printed label of ``page`` when it differs from the page number, else ``""``."""
        if page is None or page > len(self.page_labels):
            return ""
        label = self.page_labels[page - 1]
        return "" if label == str(page) else label


@dataclass(frozen=True)
class Finding:
    """One lesson or practice: the unit that is indexed, searched, cited and exported.

    Attributes:
        id: Stable identifier derived from the document and the start line (``<doc-stem>:L<line>``), identical
            across rebuilds of the same file.
        text: Clean text (markdown emphasis removed, whitespace normalized, original wording kept).
        document: File name of the source document.
        municipality: Municipality the finding is about (``加賀市``, ``北海道更別村``, ``三重県多気町ほか``);
            empty if none.
        chapter: Top-level chapter (``推進体制``, ``費用負担``, ``市民参画``, ``その他``) or the top heading.
        section: Section inside the chapter (``庁内体制``, ``人材育成・人材活用``, ...); may be empty.
        heading: The nearest heading (the ``■`` title in the seed report).
        kind: ``lesson`` for bullets under 「取組み(を)通じた知見・課題」, ``practice`` otherwise.
        line_start: First source line (1-based, inclusive).
        line_end: Last source line (1-based, inclusive).
        citation: Human-readable citation (document, municipality, chapter › section › heading, lines).
        source_note: 「出典：…」 text that belongs to this finding's block, if any.
        page: 1-based page number (first page of the finding) for paged sources (PDF); ``None`` for plain text.
        title: Title of the source document.
        page_end: Last page of the finding when it runs onto a later page, else ``None``.
        page_label: Printed label of ``page`` (``iv``) when the PDF has page labels that differ from the number.
        line_unit: What ``line_start``/``line_end`` count: ``L`` lines (on the page, for PDF; in the source, for
            HTML) or ``¶`` paragraphs (DOCX).
    """

    id: str
    text: str
    document: str
    municipality: str
    chapter: str
    section: str
    heading: str
    kind: Kind
    line_start: int
    line_end: int
    citation: str
    source_note: str = ""
    page: int | None = None
    title: str = ""
    page_end: int | None = None
    page_label: str = ""
    line_unit: str = "L"
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def context_text(self) -> str:
        """The text with its heading in front, as fed to the embedder when context embedding is on."""
        if self.heading and self.heading not in self.text:
            return f"{self.heading}: {self.text}"
        return self.text

    @property
    def location(self) -> str:
        """Where in the document, as cited: ``L10–12``, ``p.3 L5–7``, ``p.3 L40–p.4 L2``, ``p.iv [4] L2``, ``¶7``."""
        return format_location(
            self.line_start,
            self.line_end,
            page=self.page,
            page_end=self.page_end,
            page_label=self.page_label,
            unit=self.line_unit,
        )

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-ready dict (``extra`` omitted when empty)."""
        data = asdict(self)
        if not data["extra"]:
            del data["extra"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["extra"] = dict(values.get("extra") or {})
        return cls(**values)


def format_location(
    line_start: int,
    line_end: int,
    *,
    page: int | None = None,
    page_end: int | None = None,
    page_label: str = "",
    unit: str = "L",
) -> str:
    """Where a finding is, as cited.

    >>> format_location(10, 12)
    'L10–12'
    >>> format_location(7, 7, unit="¶")
    '¶7'
    >>> format_location(5, 7, page=3)
    'p.3 L5–7'
    >>> format_location(40, 2, page=3, page_end=4)
    'p.3 L40–p.4 L2'
    >>> format_location(2, 2, page=4, page_label="iv")
    'p.iv [4] L2'
    """
    if page is None:
        return f"{unit}{line_start}" if line_start == line_end else f"{unit}{line_start}–{line_end}"
    shown = f"p.{page_label} [{page}]" if page_label else f"p.{page}"
    if page_end is not None and page_end != page:
        return f"{shown} {unit}{line_start}–p.{page_end} {unit}{line_end}"
    lines = f"{unit}{line_start}" if line_start == line_end else f"{unit}{line_start}–{line_end}"
    return f"{shown} {lines}"


def format_citation(*, document: str, municipality: str, path: tuple[str, ...], location: str) -> str:
    """Build the human-readable citation string from its parts (``location`` from :func:`format_location`).

    >>> format_citation(document="report.txt", municipality="加賀市", path=("推進体制", "庁内体制", "見出し"),
    ...                 location=format_location(10, 12))
    'report.txt｜加賀市｜推進体制 › 庁内体制 › 見出し｜L10–12'
    >>> format_citation(document="白書.pdf", municipality="", path=("第1章",), location=format_location(3, 9, page=12))
    '白書.pdf｜第1章｜p.12 L3–9'
    """
    parts = [document]
    if municipality:
        parts.append(municipality)
    crumbs = " › ".join(p for p in path if p)
    if crumbs:
        parts.append(crumbs)
    parts.append(location)
    return "｜".join(parts)
