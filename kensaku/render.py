"""HTML for result cards, as pure functions: every piece of document text is escaped before it is shown."""

from __future__ import annotations

import html

from index.search import Hit

KIND_LABELS = {"lesson": "知見・課題", "practice": "取組"}

CARD_CSS = """
<style>
.kensaku-card {border: 1px solid #d0d7de; border-radius: 8px; padding: 0.8rem 1rem; margin-bottom: 0.6rem;}
.kensaku-crumb {color: #57606a; font-size: 0.85rem; margin-bottom: 0.3rem;}
.kensaku-text {font-size: 1.02rem; line-height: 1.7;}
.kensaku-cite {color: #57606a; font-size: 0.8rem; margin-top: 0.4rem; font-family: monospace;}
</style>
"""


def breadcrumb(hit: Hit) -> str:
    """municipality › chapter › section › heading (unescaped)."""
    f = hit.finding
    topic = f.extra.get("topic", "")
    return " › ".join(x for x in (f.municipality, f.chapter, f.section, topic, f.heading) if x)


def card_html(hit: Hit) -> str:
    """One result card: rank, breadcrumb, kind, text and citation, all HTML-escaped.

    >>> from ingest.models import Finding
    >>> f = Finding("d:L1", "<script>alert(1)</script>", "d.txt", "", "", "", "", "practice", 1, 1, "d.txt｜L1")
    >>> "<script>" in card_html(Hit(1, 1.0, f, 0.0, 0.0, 0, 0))
    False
    """
    f = hit.finding
    kind = KIND_LABELS.get(f.kind, f.kind)
    return (
        '<div class="kensaku-card">'
        f'<div class="kensaku-crumb">{hit.rank}. {html.escape(breadcrumb(hit))}｜{html.escape(kind)}</div>'
        f'<div class="kensaku-text">{html.escape(f.text)}</div>'
        f'<div class="kensaku-cite">{html.escape(f.citation)}</div>'
        "</div>"
    )
