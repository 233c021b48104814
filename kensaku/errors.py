"""The errors kensaku raises on purpose: one base class, a few kinds, each message ending with the fix.

Every error is a :class:`KensakuError` with a ``reason`` (what is wrong, with the value and the limit) and a
``fix`` (what to do about it); ``str(error)`` is ``"reason; fix"``. The command line prints that one line and exits
with status 2; anything else that escapes is a bug and shows as a traceback. Where a built-in type is the natural
one (a missing file, a bad value, an unknown key), the error also derives from it, so ``except ValueError`` keeps
working for callers that used it.

>>> error = QueryError("the query is empty", "type a question such as 「フェローの契約形態は」")
>>> str(error)
'the query is empty; type a question such as 「フェローの契約形態は」'
>>> isinstance(error, ValueError), error.reason
(True, 'the query is empty')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

__all__ = [
    "DocumentError",
    "EmbedderLoadError",
    "FindingNotFoundError",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexMissingError",
    "IndexStoreError",
    "InputError",
    "KensakuError",
    "NoSearchableWordsError",
    "NothingToIndexError",
    "QueryError",
    "RerankerLoadError",
    "SourceNotFoundError",
]


class KensakuError(Exception):
    """Base class: something the user can fix; the message says what is wrong and how to fix it.

    Args:
        reason: What is wrong, naming the value and the limit.
        fix: What to do about it (a command, a setting, an action); may be empty.
    """

    def __init__(self, reason: str, fix: str = "") -> None:
        """Keep the two parts; ``args`` holds the whole message, as for any exception."""
        self.reason = reason
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """``reason; fix`` (or the reason alone)."""
        return f"{self.reason}; {self.fix}" if self.fix else self.reason

    def __str__(self) -> str:
        """The whole message (also for the ``KeyError`` and ``OSError`` subclasses, which would quote it)."""
        return self.message


class InputError(KensakuError, ValueError):
    """A value given by the caller is not usable: a setting out of range, an unknown format, mode or kind."""


class QueryError(InputError):
    """The query or its options are not usable (empty, too long, bad ``k``, unknown filter value)."""


class SourceNotFoundError(KensakuError, FileNotFoundError):
    """A file or folder given as a source does not exist."""


class DocumentError(KensakuError, ValueError):
    """One document cannot be read (unsupported, empty, too large, binary, encrypted, damaged).

    A batch records it and goes on with the other files. ``path`` names the file; ``str()`` starts with it.
    """

    def __init__(self, path: str, reason: str, fix: str = "") -> None:
        """Keep the path apart from the reason, so that a list of problems can show both."""
        self.path = path
        super().__init__(reason, fix)

    @property
    def detail(self) -> str:
        """``reason; fix`` without the path."""
        return super().message

    @property
    def message(self) -> str:
        """``path: reason; fix``."""
        return f"{self.path}: {self.detail}"


class NothingToIndexError(KensakuError, ValueError):
    """A build found nothing to index in its sources.

    Args:
        reason: What is wrong (how many files or findings, and why none counts).
        fix: What to do about it.
        problems: ``(path, reason)`` for each file that gave nothing: skipped (unreadable, empty, no text layer)
            or read without findings (only headings). The command line prints one line per file.

    >>> error = NothingToIndexError("no findings to index", "add text", [("空.txt", "is empty")])
    >>> error.problems
    (('空.txt', 'is empty'),)
    """

    def __init__(self, reason: str, fix: str = "", problems: Sequence[tuple[str, str]] = ()) -> None:
        """Keep the per-file reasons apart from the message."""
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        super().__init__(reason, fix)


class NoSearchableWordsError(NothingToIndexError):
    """Findings were cut, but none has a word the BM25 leg can index (only symbols or punctuation: 「・・・」「※」)."""


class IndexStoreError(KensakuError):
    """Base class of problems with an index directory; the fix names the command that repairs it."""


class IndexMissingError(IndexStoreError):
    """No index at the given directory."""


class IndexMismatchError(IndexStoreError):
    """The index was built differently from what is asked now (model, format, sources); it must be rebuilt."""


class IndexCorruptError(IndexStoreError):
    """The index files are unreadable or inconsistent; it must be rebuilt."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds an index's writer lock (as the holder wrote it into the lock file; see :mod:`kensaku.writelock`).

    Attributes:
        pid: The holder's process id (on ``host``).
        host: The machine it runs on.
        since: When it took the lock (aware).
        command: Its command line (shortened), e.g. ``kensaku add b.pdf``.
    """

    pid: int
    host: str
    since: datetime
    command: str

    def describe(self, tz: tzinfo | None = None) -> str:
        """``PID 1234 on host x since 2026-11-30 13:00:05 JST (kensaku add b.pdf)``; local time unless ``tz``."""
        since = self.since.astimezone(tz)
        return f"PID {self.pid} on host {self.host} since {since:%Y-%m-%d %H:%M:%S} {since.tzname()} ({self.command})"


class IndexLockedError(IndexStoreError):
    """Another process is writing the index (a build, an add, the app's rebuild): one writer at a time.

    Args:
        reason: Which index, who holds it and how long this writer waited.
        fix: What to do about it.
        directory: The index directory.
        holder: Who holds the lock; ``None`` when its record could not be read.
        waited: Seconds this writer waited before giving up.
    """

    def __init__(
        self, reason: str, fix: str = "", *, directory: str = "", holder: LockHolder | None = None, waited: float = 0
    ) -> None:
        """Keep the holder apart from the message, for callers that show it their own way (the app)."""
        self.directory = directory
        self.holder = holder
        self.waited = waited
        super().__init__(reason, fix)


class EmbedderLoadError(KensakuError):
    """The embedding model could not be loaded (missing files, offline hub, broken install)."""


class RerankerLoadError(KensakuError):
    """The reranker (a cross-encoder, :mod:`kensaku.index.rerank`) could not be loaded: no such folder, not a
    cross-encoder, or a hub name that cannot be fetched (offline)."""


class FindingNotFoundError(KensakuError, KeyError):
    """No finding with the given id in the index."""
