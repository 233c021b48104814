"""Where the index side lives: the backend URI (``--backend`` / ``$KENSAKU_BACKEND``), checked before anything connects.

Forms (:func:`parse_backend`):

- ``local`` (or empty): the index directory itself (FAISS + BM25 files), the default.
- ``milvus:///abs/path/x.db``, ``milvus://./rel/x.db``, ``milvus://~/x.db``: a Milvus Lite file (the embedded engine;
  the name must end in ``.db`` and its folder must exist).
- ``milvus://host:19530``, ``http://host:19530``: a Milvus server (standalone or a cluster's proxy), no TLS.
- ``https://host[:port]``: a server over TLS (Zilliz Cloud, a TLS proxy); port 443 unless given.

A server's token (``user:password`` or an API key) is never part of the URI (it would show in process lists and
logs): it comes from ``$KENSAKU_MILVUS_TOKEN``, or from the file named by ``$KENSAKU_MILVUS_TOKEN_FILE``. An optional
``?collection=name`` picks the collection (default ``kensaku``; its statistics live in ``name_stats``).

Reads only the environment (and checks that a Lite file's folder exists); imports nothing of Milvus.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from kensaku.errors import IndexStoreError, InputError

TOKEN_ENV = "KENSAKU_MILVUS_TOKEN"
TOKEN_FILE_ENV = "KENSAKU_MILVUS_TOKEN_FILE"
DEFAULT_COLLECTION = "kensaku"
DEFAULT_PORT = 19530
FORMS = "local, milvus:///abs/path/x.db (Milvus Lite), milvus://host:19530 or https://host (a Milvus server)"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")

BackendKind = Literal["local", "lite", "server"]


class BackendURIError(InputError):
    """The backend URI cannot be used (unknown form, bad port, missing folder, a token in the URI, unreadable token
    file); the message shows the value and the forms that work."""


class BackendUnavailableError(IndexStoreError):
    """The Milvus backend did not answer, refused the token, or failed during a request; the fix says what to check."""


@dataclass(frozen=True)
class BackendURI:
    """A checked backend URI.

    Attributes:
        kind: ``local``, ``lite`` (a Milvus Lite file) or ``server``.
        text: The URI as given (it never holds a token).
        address: What the Milvus client connects to: the Lite file's absolute path or ``http(s)://host:port``
            (empty for ``local``).
        collection: The collection holding the findings.
        token: The server's token from the environment (empty when none; never shown by ``repr``).
    """

    kind: BackendKind
    text: str
    address: str = ""
    collection: str = DEFAULT_COLLECTION
    token: str = field(default="", repr=False)

    @property
    def is_local(self) -> bool:
        """Whether this is the default local backend (no Milvus)."""
        return self.kind == "local"

    @property
    def stats_collection(self) -> str:
        """The companion collection holding the client-side BM25 statistics."""
        return f"{self.collection}_stats"


def parse_backend(text: str | None, environ: Mapping[str, str] | None = None) -> BackendURI:
    """Check a backend URI and read the server token from the environment.

    >>> parse_backend("local").kind
    'local'
    >>> parse_backend("milvus://milvus.internal:19530", {}).address
    'http://milvus.internal:19530'
    >>> parse_backend("https://in01.example.cloud", {}).address
    'https://in01.example.cloud:443'

    Raises:
        BackendURIError: With the value and the fix.
    """
    environ = os.environ if environ is None else environ
    raw = (text or "").strip()
    if raw in ("", "local"):
        return BackendURI("local", "local")
    if "://" not in raw:
        raise BackendURIError(f"unknown backend {raw!r}", f"use one of: {FORMS}")
    scheme, rest = raw.split("://", 1)
    scheme = scheme.lower()
    body, _, query = rest.partition("?")
    collection = _collection(raw, query)
    if scheme == "milvus" and _is_lite(body):
        return BackendURI("lite", raw, str(_lite_path(raw, body)), collection)
    if scheme not in ("milvus", "http", "https"):
        raise BackendURIError(f"unknown backend scheme {scheme!r} in {raw!r}", f"use one of: {FORMS}")
    address = _server_address(raw, scheme, body)
    return BackendURI("server", raw, address, collection, read_token(environ))


def _is_lite(body: str) -> bool:
    """Whether the part after ``milvus://`` names a Lite file (a path, or anything ending in ``.db``)."""
    return body.startswith(("/", ".", "~")) or body.endswith(".db")


def _lite_path(raw: str, body: str) -> Path:
    """The Lite file of ``milvus://<body>``, absolute, after checking its name and folder."""
    if not body.endswith(".db") or body.endswith("/.db"):
        raise BackendURIError(
            f"the Milvus Lite file in {raw!r} does not end in .db",
            "name a file such as milvus:///var/lib/kensaku/findings.db (Milvus Lite needs the .db suffix)",
        )
    path = Path(body).expanduser().absolute()
    if path.is_dir():
        raise BackendURIError(f"the Milvus Lite file {path} is a folder", "name a file inside it, e.g. findings.db")
    if not path.parent.is_dir():
        raise BackendURIError(
            f"the folder {path.parent} of the Milvus Lite file in {raw!r} does not exist",
            f"create it (mkdir -p {path.parent}) or give a file in an existing folder",
        )
    return path


def _server_address(raw: str, scheme: str, body: str) -> str:
    """``http(s)://host:port`` of a server URI, after checking the host, the port and that it holds no token."""
    parts = urlsplit(f"//{body}")
    if parts.username is not None or parts.password is not None:
        raise BackendURIError(
            f"the backend URI {_hidden(raw)} holds a user or token",
            f"drop it from the URI and set ${TOKEN_ENV} (or ${TOKEN_FILE_ENV}, a file holding it) instead",
        )
    if parts.path not in ("", "/"):
        raise BackendURIError(
            f"the Milvus server URI {raw!r} has a path ({parts.path!r})",
            "give only host and port (milvus://host:19530); a Lite file ends in .db (milvus:///abs/path/x.db)",
        )
    host = parts.hostname or ""
    if not host:
        raise BackendURIError(f"the Milvus server URI {raw!r} has no host", "write it as milvus://host:19530")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port == -1 or (port is not None and not 1 <= port <= 65535):
        raise BackendURIError(f"the port in {raw!r} is not a port number", "use 1 to 65535, e.g. milvus://host:19530")
    tls = scheme == "https"
    port = port if port is not None else (443 if tls else DEFAULT_PORT)
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def _collection(raw: str, query: str) -> str:
    """The collection named by ``?collection=`` (default :data:`DEFAULT_COLLECTION`)."""
    if not query:
        return DEFAULT_COLLECTION
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"collection"})
    if unknown:
        raise BackendURIError(f"unknown option {unknown[0]!r} in {_hidden(raw)}", "the only option is ?collection=NAME")
    name = options["collection"][-1]
    if not _NAME.fullmatch(name):
        raise BackendURIError(
            f"collection name {name!r} is not allowed",
            "use letters, digits and _ (not first a digit), e.g. ?collection=kensaku_reports",
        )
    return name


def read_token(environ: Mapping[str, str]) -> str:
    """The server token: ``$KENSAKU_MILVUS_TOKEN``, else the first line of the file ``$KENSAKU_MILVUS_TOKEN_FILE``
    (empty when neither is set).

    Raises:
        BackendURIError: The token file cannot be read or is empty.
    """
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    name = environ.get(TOKEN_FILE_ENV, "").strip()
    if not name:
        return ""
    try:
        lines = Path(name).expanduser().read_text(encoding="utf-8").strip().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BackendURIError(
            f"${TOKEN_FILE_ENV} names {name}, which cannot be read ({type(exc).__name__})",
            "point it at a readable file holding the token (user:password or an API key) on its first line",
        ) from exc
    if not lines or not lines[0].strip():
        raise BackendURIError(
            f"the token file {name} (${TOKEN_FILE_ENV}) is empty", "write the token on its first line"
        )
    return lines[0].strip()


def _hidden(raw: str) -> str:
    """``raw`` with any ``user:secret@`` part masked, for messages."""
    return re.sub(r"//[^/@]*@", "//***@", raw)
