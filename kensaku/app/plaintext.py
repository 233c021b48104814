"""Text for Streamlit elements that render Markdown, escaped so that it shows literally.

``st.warning``, ``st.error``, ``st.success``, ``st.info`` and ``st.caption`` render their body as Markdown (with
Streamlit's extras: ``:red[…]`` colours, ``:smile:`` emoji, ``:material/…:`` icons, ``$…$`` math). File names,
reasons that quote them and exception messages come from users' documents, so a name like ``**bold**<img src=x>``
must not become bold text or an image: :func:`markdown_literal` backslash-escapes every ASCII punctuation character
(CommonMark lets any of them be escaped, and an escaped one is never markup) and turns line breaks and other control
characters into spaces (a new line would start a new Markdown block), and leading spaces into no-break spaces (four
would start a code block).
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def markdown_literal(text: str) -> str:
    r"""``text`` as Markdown that renders as exactly this text, on one line.

    Args:
        text: Any text (a file name, a reason, an exception message).

    Returns:
        The text with ASCII punctuation backslash-escaped, control characters as spaces, leading spaces as
        no-break spaces, lone surrogates as U+FFFD.

    >>> markdown_literal("**bold**<img src=x>.txt")
    '\\*\\*bold\\*\\*\\<img src\\=x\\>\\.txt'
    >>> markdown_literal("報告書\n# 見出し :red[赤]")
    '報告書 \\# 見出し \\:red\\[赤\\]'
    """
    flat = _PUNCTUATION.sub(r"\\\1", _SURROGATES.sub("\ufffd", _CONTROLS.sub(" ", text)))
    indent = len(flat) - len(flat.lstrip(" "))
    return "\u00a0" * indent + flat[indent:]  # four leading spaces would make a code block
