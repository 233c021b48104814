"""File names as text, and which symbolic links a folder walk follows.

**Names that are not UTF-8.** On Linux a file name is bytes; Python hands a name that is not valid UTF-8 (a CP932
name unpacked from a Windows zip, common for Japanese users) over as a ``str`` with lone surrogates
(``os.fsdecode``, ``surrogateescape``). Such a path still opens the file, so kensaku keeps it as the real path (to
read and re-check the file later), and shows :func:`display_name` wherever a person or a JSON file sees the name:
the bytes decoded as CP932 when they are valid CP932 (``報告書.txt``), else as UTF-8 with U+FFFD for each bad byte.

**Symbolic links in a walked folder.** A link whose target lies inside the walked folder is followed (a file link
is read, unless its target is read under its own name anyway); a link pointing outside the folder, a link that
loops (``a -> b -> a``, ``x -> x``) and a dangling link are skipped, each with a reason (:func:`link_problem`).
Links to folders are never descended into: one pointing inside adds nothing (its documents are walked at their
real place), one pointing outside is skipped with a reason. A path given explicitly (a file or a folder argument)
is followed wherever it points: the user named it.

>>> display_name(os.fsdecode("報告書.txt".encode("cp932")))
'報告書.txt'
>>> display_name(os.fsdecode(b"\\xff\\xfe.txt"))
'��.txt'
>>> display_name("加賀市.txt")
'加賀市.txt'
"""

from __future__ import annotations

import errno
import os
import re
import unicodedata
from pathlib import Path

_SURROGATE = re.compile("[\ud800-\udfff]")

LINK_LOOP = "is a symbolic link that loops back on itself; not followed (point the link at a real file or remove it)"
LINK_BROKEN = "is a symbolic link to something that does not exist; not followed (fix or remove the link)"
LINK_OUTSIDE = (
    "is a symbolic link to {target}, outside the folder {root}; kensaku does not follow links out of a folder it "
    "walks (give the target as a path of its own to index it)"
)
FOLDER_OUTSIDE = (
    "is a symbolic link to the folder {target}, outside the folder {root}; not followed (give the target folder as "
    "a path of its own to index it)"
)


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds lone surrogates (bytes that were not UTF-8, kept by ``surrogateescape``).

    >>> has_surrogates(os.fsdecode(b"\\x82\\xa0.txt")), has_surrogates("あ.txt")
    (True, False)
    """
    return _SURROGATE.search(text) is not None


def display_name(name: str) -> str:
    """One file name (or any one path component) as clean text, without lone surrogates.

    Args:
        name: A name as ``os.listdir``/``os.walk`` give it (undecodable bytes as lone surrogates).

    Returns:
        ``name`` itself when it is valid text; else its bytes decoded as CP932 when they are valid CP932 (without
        control or private-use characters), else decoded as UTF-8 with U+FFFD for each byte that is not.
    """
    if not has_surrogates(name):
        return name
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that surrogateescape did not make: not from bytes at all
        return _SURROGATE.sub("\ufffd", name)
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")
    # Python's cp932 also maps single bytes 0x80, 0xA0, 0xFD-0xFF and the user-defined area: not real CP932 text.
    if any(unicodedata.category(ch) in ("Cc", "Co") for ch in text):
        return raw.decode("utf-8", "replace")
    return text


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as clean text: :func:`display_name` of each component (each may be in another encoding).

    >>> display_path(os.path.join("資料", os.fsdecode("報告書.txt".encode("cp932"))))
    '資料/報告書.txt'
    """
    text = os.fspath(path)
    if not has_surrogates(text):
        return text
    return os.sep.join(display_name(part) for part in text.split(os.sep))


def real_path(path: Path) -> Path:
    """The absolute path with every symbolic link resolved, never raising (also for loops and dangling links)."""
    return Path(os.path.realpath(path))


def link_problem(path: Path, root: Path | None = None) -> str | None:
    """Why the symbolic link ``path`` is not followed; ``None`` if it is.

    Args:
        path: A symbolic link.
        root: The folder being walked when the link was found in it (as given; it may itself be a link), or
            ``None`` for a path given explicitly, which is followed wherever it points.

    Returns:
        :data:`LINK_LOOP`, :data:`LINK_BROKEN`, :data:`LINK_OUTSIDE` (:data:`FOLDER_OUTSIDE` for a link to a
        folder) filled in, or ``None`` when the target exists (inside ``root``).
    """
    try:
        target = Path(os.path.realpath(path, strict=True))
    except OSError as exc:
        return LINK_LOOP if exc.errno == errno.ELOOP else LINK_BROKEN
    if root is None:
        return None
    top = real_path(root)
    if target.is_relative_to(top):
        return None
    template = FOLDER_OUTSIDE if target.is_dir() else LINK_OUTSIDE
    return template.format(target=display_path(target), root=display_path(top))
