"""The project file ``kensaku.toml`` and the checked setting values read from it, the environment and the flags.

:func:`find_project_file` finds the file upward from a folder; :func:`project_settings` reads the
:class:`~kensaku.config.Settings` fields it sets (relative paths resolved against its own folder). The value parsers
(:func:`device_setting`, :func:`ann_setting`, :func:`reranker_setting`) are shared by the project file,
:meth:`~kensaku.config.Settings.from_env` and the command line, so that a bad value is refused with the same message
wherever it was set. All of them are re-exported by :mod:`kensaku.config`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from kensaku.errors import InputError

ANN_CHOICES = ("auto", "flat", "hnsw", "ivf")


def ann_setting(value: str, where: str) -> str:
    """A checked ``ann`` value (``auto``, ``flat``, ``hnsw`` or ``ivf``).

    Raises:
        InputError: Another value, naming where it was set.
    """
    choice = value.strip().lower()
    if choice not in ANN_CHOICES:
        raise InputError(f"{where}={value!r} is not a dense index kind", f"use one of {', '.join(ANN_CHOICES)}")
    return choice


def device_setting(value: str, where: str = "--device") -> str:
    """A checked device: ``cpu``, ``cuda`` or ``cuda:N``, lower-cased.

    >>> device_setting(" CUDA:1 "), device_setting("cpu")
    ('cuda:1', 'cpu')

    Raises:
        InputError: Another value, naming where it was set.
    """
    device = value.strip().lower()
    kind, colon, number = device.partition(":")
    if kind not in ("cpu", "cuda") or (colon and (kind != "cuda" or not number.isdigit())):
        raise InputError(f"{where}={value!r} is not a device", "use cpu (the default), cuda or cuda:N")
    return device


PROJECT_FILE = "kensaku.toml"
# Keys of kensaku.toml → the Settings field each sets (paths are resolved against the file's folder).
PROJECT_KEYS: dict[str, str] = {
    "index": "index_dir",
    "corpus": "corpus_dir",
    "documents": "documents_dir",
    "model": "model",
    "reranker": "reranker",
    "device": "device",
}
_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def find_project_file(start: Path) -> Path | None:
    """The nearest ``kensaku.toml`` in ``start`` or a folder above it, or ``None``."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def project_settings(path: Path) -> dict[str, Any]:
    """The :class:`Settings` fields a project file sets: ``index``, ``corpus`` and ``documents`` as paths (relative
    ones resolved against the file's folder, ``~`` expanded), ``model`` as a name and ``reranker`` as a hub name or a
    folder (a relative one resolved against the file's folder when it is there).

    Raises:
        InputError: The file cannot be read, is not TOML (naming the line), or has an unknown key or a value that
            is not a string.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(
            f"the project file {path} cannot be read ({exc.strerror or exc})", "check its permissions"
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        found = _TOML_LINE.search(str(exc))
        where = f" at line {found.group(1)}, column {found.group(2)}" if found else ""
        raise InputError(
            f"the project file {path} is not valid TOML{where} ({_TOML_LINE.sub('', str(exc)).strip()})",
            f'write each setting as key = "value" (keys: {", ".join(PROJECT_KEYS)}), or delete the file',
        ) from exc
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in PROJECT_KEYS:
            raise InputError(
                f"the project file {path} has the unknown key {key!r}", f"use only {', '.join(PROJECT_KEYS)}"
            )
        if not isinstance(value, str) or not value.strip():
            raise InputError(
                f"the project file {path}: {key} = {value!r} is not a non-empty string",
                f'write it in quotes, e.g. {key} = "{_EXAMPLES[key]}"',
            )
        if key == "model":
            out["model"] = value
        elif key == "device":
            out["device"] = device_setting(value, f"the project file {path}: device")
        elif key == "reranker":  # a hub name, or a folder (relative to the file's folder when it is there)
            local = Path(path).resolve().parent / Path(value).expanduser()
            out["reranker"] = str(local) if local.is_dir() else reranker_setting(value)
        else:
            given = Path(value).expanduser()
            out[PROJECT_KEYS[key]] = given if given.is_absolute() else (Path(path).resolve().parent / given)
    return out


_EXAMPLES = {
    "index": ".kensaku/index",
    "corpus": "corpus",
    "documents": "~/kensaku-documents",
    "model": "e5-small-int8",
    "device": "cpu",
    "reranker": "hotchpotch/japanese-reranker-xsmall-v2",
}


def _positive_int(text: str, variable: str, default: int, unit: str = "") -> int:
    """The value of ``$variable`` as a positive whole number (of ``unit``), or an :class:`InputError` naming it."""
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(
            f"${variable}={text!r} is not a positive whole number{unit}",
            f"set it like {default} (the default), or unset it",
        )
    return value


def reranker_setting(text: str) -> str | None:
    """A reranker setting as given: ``None`` for ``none``/``off``/``0`` (no reranking), else the name or path.

    >>> reranker_setting(" hotchpotch/japanese-reranker-xsmall-v2 "), reranker_setting("off")
    ('hotchpotch/japanese-reranker-xsmall-v2', None)
    """
    value = text.strip()
    return None if value.lower() in ("", "none", "off", "0", "false", "no") else value
