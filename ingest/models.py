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
    """

    path: str
    name: str
    title: str
    lines: tuple[str, ...]
    sha256: str


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
        page: 1-based page number for paged sources (PDF); ``None`` for plain text.
        title: Title of the source document.
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
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def context_text(self) -> str:
        """The text with its heading in front, as fed to the embedder when context embedding is on."""
        if self.heading and self.heading not in self.text:
            return f"{self.heading}: {self.text}"
        return self.text

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


def format_citation(
    *,
    document: str,
    municipality: str,
    path: tuple[str, ...],
    line_start: int,
    line_end: int,
    page: int | None = None,
) -> str:
    """Build the human-readable citation string.

    >>> format_citation(document="report.txt", municipality="加賀市", path=("推進体制", "庁内体制", "見出し"),
    ...                 line_start=10, line_end=12)
    'report.txt｜加賀市｜推進体制 › 庁内体制 › 見出し｜L10–12'
    """
    parts = [document]
    if municipality:
        parts.append(municipality)
    crumbs = " › ".join(p for p in path if p)
    if crumbs:
        parts.append(crumbs)
    where = f"L{line_start}" if line_start == line_end else f"L{line_start}–{line_end}"
    if page is not None:
        where = f"p.{page} {where}"
    parts.append(where)
    return "｜".join(parts)
