"""Reliability probe (issue 11): bad inputs, index corruptions, SIGKILL, two writers, adversarial queries — this
tree ("after") and an earlier commit ("before", default ``b977a8d``) side by side in one run — and the cost of
checking an index's files when it is opened.

Each category runs real ``kensaku`` processes (``python -m kensaku.cli``, the same venv; the baseline imported from
a temporary worktree, see :func:`real_documents._baseline_env`), the same cases for both columns, and counts every
case as held or failed:

* **bad inputs** (:mod:`mutations`): each mutated or hostile file alone is built with ``kensaku build FILE --index
  TMP --no-ocr`` under a hard timeout (``--timeout``, 60 s; the baseline 1.5 times that) and a memory watchdog
  (8 GB for the process group). The progress bars are on and read while it runs: past the timeout a build gets
  15 s more at a time while its ``embed`` count grows and, at its rate, would end within 600 s, since a long
  document is slow to embed, not hung (one that would take longer fails as "too slow"). *Held*: exit 0 with an
  index (a ``manifest.json``), or exit 2 with ``kensaku:`` lines only on stderr (progress bars aside), one of which
  names the file. *Failed*: a traceback, any other exit status, killed at the timeout (a hang), too slow, or over
  the memory limit. OCR is off (``--no-ocr``) so that a mutated PDF whose text layer is gone is not read by
  Tesseract at about 20 s per page; the after column runs with ``KENSAKU_FILE_TIMEOUT=20`` (``--file-timeout``: the
  per-file budget, default 300 s, which is past this bench's timeout).
* **index corruptions**: an index of the real ordinances (``tests/fixtures/real/ordinance``) is built by each side
  (with relative paths, from its own folder), and a second index of the same documents with a few characters
  substituted (same shape: same rows). On a fresh copy per case: every file of the index (each ``bm25/`` array and
  JSON, ``vectors.npy``, ``findings.jsonl``, ``inputs.json``, ``manifest.json``) gets a byte flipped at its start,
  middle and end, a zeroed block, truncation to half, emptied, deleted, and replaced by the same file of the other
  index; ``findings.jsonl`` rows are swapped, reversed, duplicated, deleted, edited (text, id, a control character,
  broken JSON); every manifest field (top level, and the fields inside ``model``, ``tokenizer``, ``build_options``,
  ``ingest``, ``counts``, the first source, one file record) is set to null, given a value of the wrong type,
  removed, or edited (model name → ``e5-small-fp32``, tokenizer form → ``surface``, counts + 1, …). Then
  ``kensaku search --queries Q --index IDX --format json`` (three queries). *Held*: refused with exit 2 and a
  message that contains a ``kensaku build`` command, or answers identical to the pristine index's (damage that
  does not matter). *Failed*: exit 0 with other answers (served silently), exit 2 without a rebuild command, a
  traceback or any other exit. *Repaired* (checked for the first refusal of each file, of the rows and of the
  manifest fields, on both sides): the command in the message's backticks, run from another directory, gives back
  the pristine answers.
* **manifest schema (checksum recomputed)**: every manifest field as above set to null, given a wrong type or
  removed, and then — in the after column — the manifest's own checksum recomputed, so that the damage gets past the
  checksum to the schema checks (in the before column there is no checksum: these are the same edits as above).
  Held and failed as for the corruptions. Edited values with a recomputed checksum are left out: that is forgery,
  which a checksum does not claim to catch.
* **SIGKILL at random moments**: on a fresh copy of the ordinance index, ``kensaku add extra.md`` or ``kensaku build
  docs extra.md --full`` is killed with SIGKILL after a random delay (seeded, uniform up to 1.1 × the command's
  uninterrupted time). *Held*: ``kensaku search`` then exits 0 with the answers of the old index or of the new one.
  In the after column a reader worker left alive by the killed build is a failure too.
* **two writers at once**: ``kensaku add a.md`` and ``kensaku add b.md`` started together on one copy of the index.
  *Held*: both documents are in the index afterwards (``kensaku info --format json``), or one add was refused with
  exit 2 and a one-line ``kensaku:`` error while the other's document is in. *Failed*: a document silently lost,
  a traceback, an unreadable index.
* **adversarial queries**: about 200 queries and options (empty, spaces, U+3000, ZWSP/BOM/U+2060/U+3164/U+2800
  only, 2,000 and 2,001 characters, control characters, lone surrogates, RTL marks, emoji, non-BMP kanji,
  SQL/regex/HTML metacharacters, ``-k 0``, ``-k 100000``, NaN weights, ``--queries`` files…) through
  ``kensaku.cli.main`` in one persistent process per side (the embedder loaded once; stdout as strict UTF-8 like a
  pipe's; a crash or a hang is caught by the parent), plus the undecodable ones as real ``bytes`` argv of
  separate processes. *Held*: exit 0 with valid output (JSON that parses; text without control characters other
  than tab and newline) and a clean stderr, or exit 2 whose stderr has exactly one ``kensaku…error:`` line and no
  control characters. *Failed*: a traceback, another exit status, output that is not valid, a hang (60 s).
* **open time** (this tree only): ``load_index(dir, verify_sources=False)`` of the JSQuAD index (2,304 findings,
  the real model's vectors from ``bench/common.py``'s cache) and of a 100,000-finding index (JSQuAD passages
  repeated under 44 municipality names; random unit vectors stand in for the embedder, only the open cost matters),
  with the manifest's checksums (format 3: sizes + CRC-32 of every file) and with the same index's manifest
  rewritten as format 2 without ``files``/``checksum`` (no verification); median of 7 warm runs each, the two
  interleaved; and ``verify_index`` (``kensaku verify``: SHA-256 of every file plus the row checks), median of 3.

Usage: ``.venv/bin/python bench/reliability.py [--baseline b977a8d] [--files N] [--quick] [--seed S]``. A full run
writes ``bench/results/reliability.md``; a ``--quick`` or ``--only`` one writes
``$TMPDIR/kensaku-reliability/reliability-quick.md``. Failing bad-input files are kept in
``$TMPDIR/kensaku-reliability/``; any case is made again with ``--write-case NAME DIR``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mutations
from real_documents import _baseline_env, _git

ROOT = Path(__file__).resolve().parents[1]
ORDINANCE = ROOT / "tests" / "fixtures" / "real" / "ordinance"
RESULTS = ROOT / "bench" / "results" / "reliability.md"
KEPT = Path(tempfile.gettempdir()) / "kensaku-reliability"
MEMORY_LIMIT = 8 << 30
QUERIES = ("駐車場の管理", "表彰の基準", "行政手続の目的")
EXTRA = "# 駐車場の追加規定\n\n- 駐車場の利用時間は午前7時から午後10時までとする。\n- 表彰は毎年11月に行う。\n"
WRITERS = {
    "a.md": "# 加賀市の報告\n\n- フェローは業務委託契約で採用し、謝礼金を支払った。\n",
    "b.md": "# 会津若松市の報告\n\n- 大学と連携してデータ分析の人材を育成した。\n",
}
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
COMMAND = re.compile(r"`(kensaku build [^`]*)`")


# --- running processes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One column: how to run the kensaku of this tree or of the baseline.

    Attributes:
        label: ``before`` or ``after``.
        env: The environment of its processes.
        timeout: Hard timeout of one bad-input build, seconds.
    """

    label: str
    env: dict[str, str]
    timeout: float

    @property
    def cli(self) -> list[str]:
        """The command that runs its ``kensaku``."""
        return [sys.executable, "-m", "kensaku.cli"]


@dataclass(frozen=True)
class Ran:
    """A finished (or stopped) process.

    Attributes:
        rc: Exit status (negative: killed by that signal).
        out: Standard output (UTF-8, undecodable bytes replaced).
        err: Standard error.
        seconds: Wall time.
        killed: ``timeout`` or ``memory`` when the bench stopped it, else empty.
    """

    rc: int
    out: str
    err: str
    seconds: float
    killed: str = ""

    @property
    def traceback(self) -> bool:
        """Whether stderr holds a Python traceback."""
        return "Traceback (most recent call last)" in self.err


def _group_rss(pgid: int) -> int:
    """Resident bytes of every process in group ``pgid`` (from ``/proc``)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[21]) * 4096
    return total


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run(
    command: list[str] | list[str | bytes],
    *,
    env: dict[str, str],
    cwd: Path,
    timeout: float,
    memory: bool = True,
    patience: Callable[[str], bool] | None = None,
) -> Ran:
    """Run ``command`` in its own process group; kill the group past ``timeout`` or over :data:`MEMORY_LIMIT`.

    Past ``timeout``, ``patience(stderr so far)`` may grant 15 s more at a time (up to :data:`PATIENCE_CAP_S`).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        deadline = start + timeout
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        killed, checks = "", 0
        while proc.poll() is None:
            now = time.monotonic()
            if now > deadline:
                if patience and now - start < PATIENCE_CAP_S and patience(_tail(err.fileno())):
                    deadline = now + 15
                else:
                    killed = "timeout"
            elif memory and checks % 4 == 3 and _group_rss(proc.pid) > MEMORY_LIMIT:
                killed = "memory"
            if killed:
                _kill_group(proc.pid)
                proc.wait()
                break
            checks += 1
            time.sleep(0.05 if checks < 40 else 0.25)
        seconds = time.monotonic() - start
        _kill_group(proc.pid)  # a child left behind (none is expected)
        out.seek(0)
        err.seek(0)
        text_out = out.read().decode("utf-8", errors="replace")
        text_err = err.read().decode("utf-8", errors="replace")
    return Ran(proc.returncode, text_out, text_err, seconds, killed)


def _tail(fd: int, size: int = 1 << 16) -> str:
    """The last ``size`` bytes written to file ``fd`` so far."""
    end = os.fstat(fd).st_size
    return os.pread(fd, min(size, end), max(0, end - size)).decode("utf-8", errors="replace")


PATIENCE_CAP_S = 600.0
_EMBED_BAR = re.compile(r"embed:\s+\d+%\|[^|\r\n]*\|\s*(\d+)/(\d+)")
_PROGRESS_BAR = re.compile(r"^[\w ]+:\s+\d+%\|")


class Embedding:
    """A :func:`run` patience: more time while the build's ``embed`` bar moves and, at the rate it moves, would end
    within :data:`PATIENCE_CAP_S` of the start (a long document is slow to embed, not hung: about 14 ms per Japanese
    finding here, up to 0.3 s per finding of dense ASCII). A build that would take longer is stopped as too slow."""

    def __init__(self) -> None:
        """No progress seen yet."""
        self.start = time.monotonic()
        self.first: tuple[float, int] | None = None
        self.done = -1
        self.extended = False
        self.verdict = ""

    def __call__(self, err: str) -> bool:
        """Whether to wait 15 s more."""
        found = _EMBED_BAR.findall(err)
        if not found:
            return False
        now, done, total = time.monotonic(), int(found[-1][0]), int(found[-1][1])
        grew = done > self.done
        self.done = max(done, self.done)
        if self.first is None or not grew:
            self.first = self.first or (now, done)
            self.extended |= grew
            return grew
        rate = (done - self.first[1]) / max(now - self.first[0], 1e-9)
        finish = now - self.start + (total - done) / max(rate, 1e-9)
        if finish > PATIENCE_CAP_S:
            self.verdict = f"too slow: {total:,} findings to embed at {rate:,.0f}/s, about {finish / 60:,.0f} min"
            return False
        self.extended = True
        return True


def _messages(err: str) -> list[str]:
    """The lines of ``err`` without progress bars (what a bar redrew with ``\\r`` counts as its last state)."""
    lines = (line.rsplit("\r", 1)[-1] for line in err.split("\n"))
    return [line for line in lines if line.strip() and not _PROGRESS_BAR.match(line)]


@dataclass
class Outcome:
    """One case of one category on one side.

    Attributes:
        case: What was tried.
        held: Whether it held.
        detail: What happened (why it failed, or how it held).
        reproducer: How to see it again (failures).
    """

    case: str
    held: bool
    detail: str
    reproducer: str = ""


@dataclass
class Category:
    """The outcomes of one category, per side, and notes for the report."""

    name: str
    before: list[Outcome] = field(default_factory=list)
    after: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def side(self, label: str) -> list[Outcome]:
        """The outcomes of ``label``."""
        return self.before if label == "before" else self.after


def _last_line(text: str) -> str:
    lines = _messages(text)
    return lines[-1][:300] if lines else ""


def _why(ran: Ran, limit: float) -> str:
    """Why a run failed, in a few words."""
    if ran.killed == "timeout":
        return f"hang: killed after {limit:.0f} s"
    if ran.killed == "memory":
        return f"killed over {MEMORY_LIMIT >> 30} GB of memory"
    if ran.traceback:
        return f"traceback (exit {ran.rc}): {_last_line(ran.err)}"
    if ran.rc < 0:
        return f"died by signal {-ran.rc} ({signal.Signals(-ran.rc).name})"
    return f"exit {ran.rc}: {_last_line(ran.err)}"


# --- bad inputs ---------------------------------------------------------------------------------------------------


def bad_input_cases(n_random: int, seed: int, quick: bool) -> list[mutations.Case]:
    """The hostile cases (a subset in ``quick`` mode) and ``n_random`` random mutations."""
    hostile = [c for c in mutations.hostile_cases() if not quick or c.name in mutations.QUICK_HOSTILE]
    return hostile + mutations.random_cases(n_random, seed)


def bad_inputs(side: Side, files: list[tuple[mutations.Case, Path, str]], work: Path, seed: int) -> list[Outcome]:
    """Build each file alone (see the module docstring for held/failed)."""
    outcomes = []
    for case, path, what in files:
        index = work / f"index-{side.label}"
        shutil.rmtree(index, ignore_errors=True)
        command = [*side.cli, "build", str(path), "--index", str(index), "--no-ocr"]  # bars on: see Embedding
        embedding = Embedding()
        ran = run(command, env=side.env, cwd=work, timeout=side.timeout, patience=embedding)
        held, detail = _judge_build(ran, path, index, side.timeout)
        if embedding.verdict and ran.killed:
            detail = f"{embedding.verdict} (stopped after {ran.seconds:.0f} s)"
        elif embedding.extended:
            detail += f" (given more time while embedding {embedding.done:,}+ findings)"
        repro = ""
        if not held:
            KEPT.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, KEPT / path.name)
            repro = (
                f"`.venv/bin/python bench/reliability.py --seed {seed} --write-case {case.name} /tmp/k && "
                f"kensaku build /tmp/k/{path.name} --index /tmp/k/index --no-ocr` (copy: {KEPT / path.name})"
            )
        outcomes.append(Outcome(f"{case.name} ({what})", held, detail, repro))
        print(f"  [{side.label}] {case.name}: {'held' if held else 'FAILED'} — {detail[:140]}", flush=True)
        shutil.rmtree(index, ignore_errors=True)
    return outcomes


def _judge_build(ran: Ran, path: Path, index: Path, limit: float) -> tuple[bool, str]:
    lines = _messages(ran.err)
    if ran.killed or ran.traceback:
        return False, _why(ran, limit)
    if ran.rc == 0:
        if (index / "manifest.json").is_file():
            return True, f"indexed ({ran.seconds:.1f} s)" + (f"; {lines[-1][:200]}" if lines else "")
        return False, "exit 0 without an index"
    if ran.rc == 2:
        naming = [line for line in lines if path.name in line]
        if lines and all(line.startswith("kensaku:") for line in lines) and naming:
            return True, f"refused: {naming[0][:200]}"
        return False, f"exit 2 without a clean message naming the file: {_last_line(ran.err)}"
    return False, _why(ran, limit)


# --- index corruptions --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Damage:
    """One corruption: a target (file or manifest field), what is done, and the function that does it."""

    target: str
    what: str
    apply: Callable[[Path], None]

    @property
    def name(self) -> str:
        """``target: what``."""
        return f"{self.target}: {self.what}"


def _write_docs(work: Path) -> tuple[Path, Path]:
    """The ordinances (``docs/``) and the same with 市→町 and 者→人 (``docs2/``: an index of the same shape)."""
    docs, docs2 = work / "docs", work / "docs2"
    for folder in (docs, docs2):
        folder.mkdir(exist_ok=True)
    files = {work / "queries.txt": "\n".join(QUERIES) + "\n", work / "extra.md": EXTRA}
    files.update((work / name, text) for name, text in WRITERS.items())
    for source in sorted(ORDINANCE.glob("*")):
        if source.suffix in (".txt", ".html"):
            text = source.read_text(encoding="utf-8")
            files[docs / source.name] = text
            files[docs2 / source.name] = text.replace("市", "町").replace("者", "人")
    for path, text in files.items():
        if not path.exists():  # written once: an index's documents keep their modification times
            path.write_text(text, encoding="utf-8")
    (work / "elsewhere").mkdir(exist_ok=True)
    return docs, docs2


def _build(side: Side, work: Path, *paths: str, index: str) -> None:
    ran = run([*side.cli, "build", *paths, "--index", index, "--no-progress"], env=side.env, cwd=work, timeout=600)
    if ran.rc != 0:
        raise SystemExit(f"[{side.label}] kensaku build {' '.join(paths)} failed: {ran.err}")


def search(side: Side, index: Path, cwd: Path) -> tuple[Ran, Any]:
    """``kensaku search --queries`` of :data:`QUERIES`: the run and its results (``None`` when not JSON)."""
    queries = cwd / "queries.txt"
    if not queries.exists():
        queries.write_text("\n".join(QUERIES) + "\n", encoding="utf-8")
    command = [*side.cli, "search", "--queries", str(queries), "--index", str(index), "--format", "json"]
    ran = run([*command, "--no-progress"], env=side.env, cwd=cwd, timeout=300)
    try:
        answers = [item["results"] for item in json.loads(ran.out)] if ran.rc == 0 else None
    except (ValueError, TypeError, KeyError):
        answers = None
    return ran, answers


def _flip(offset: Callable[[int], int]) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        data = bytearray(path.read_bytes())
        if data:
            i = min(max(offset(len(data)), 0), len(data) - 1)
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))

    return apply


def _zero_block(path: Path) -> None:
    data = path.read_bytes()
    start = len(data) // 3
    path.write_bytes(data[:start] + bytes(len(data[start : start + 64])) + data[start + 64 :])


def _truncate_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def file_damages(pristine: Path, files: list[str], other: Path) -> list[Damage]:
    """The damages of every index file (``files``, relative to ``pristine``), with ``other`` the same-shape index."""
    out = []
    for name in files:
        ops: list[tuple[str, Callable[[Path], None]]] = [
            ("byte flipped at the start", _flip(lambda n: 0)),
            ("byte flipped in the middle", _flip(lambda n: n // 2)),
            ("byte flipped at the end", _flip(lambda n: n - 1)),
            ("64 bytes zeroed at a third", _zero_block),
            ("truncated to half", _truncate_half),
            ("emptied", lambda p: p.write_bytes(b"")),
            ("deleted", lambda p: p.unlink()),
        ]
        if (other / name).is_file():
            same = (other / name).stat().st_size == (pristine / name).stat().st_size
            size = "same size" if same else "another size"
            ops.append((f"replaced by the other index's file ({size})", _copy_from(other / name)))
        for what, fn in ops:
            out.append(Damage(name, what, _on_file(name, fn)))
    return out


def _copy_from(source: Path) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(source.read_bytes())


def _on_file(name: str, fn: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda index: fn(index / name)


def _rows(fn: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def apply(index: Path) -> None:
        path = index / "findings.jsonl"
        rows = path.read_text(encoding="utf-8").splitlines()
        path.write_text("".join(f"{row}\n" for row in fn(rows)), encoding="utf-8")

    return apply


def _edit_row(key: str, edit: Callable[[Any], Any]) -> Callable[[list[str]], list[str]]:
    def fn(rows: list[str]) -> list[str]:
        row = json.loads(rows[1])
        row[key] = edit(row[key])
        return [rows[0], json.dumps(row, ensure_ascii=False), *rows[2:]]

    return fn


def row_damages() -> list[Damage]:
    """Edits of ``findings.jsonl`` rows."""
    cases: list[tuple[str, Callable[[list[str]], list[str]]]] = [
        ("rows 1 and 2 swapped", lambda r: [r[1], r[0], *r[2:]]),
        ("rows reversed", lambda r: r[::-1]),
        ("row 1 duplicated at the end", lambda r: [*r, r[0]]),
        ("last row deleted", lambda r: r[:-1]),
        ("row 2 text edited (one character, same length)", _edit_row("text", lambda t: "町" + t[1:])),
        ("row 2 id edited", _edit_row("id", lambda t: t + "x")),
        ("row 2 id made equal to row 1's", lambda r: [r[0], _same_id(r[0], r[1]), *r[2:]]),
        ("ESC sequence put into row 2 text", _edit_row("text", lambda t: "\x1b[31m" + t)),
        ("row 2 made invalid JSON", lambda r: [r[0], r[1][:-5], *r[2:]]),
    ]
    return [Damage("findings.jsonl rows", what, _rows(fn)) for what, fn in cases]


def _same_id(first: str, second: str) -> str:
    row = json.loads(second)
    row["id"] = json.loads(first)["id"]
    return json.dumps(row, ensure_ascii=False)


EDITS: dict[str, Any] = {
    "model.name": "e5-small-fp32",
    "tokenizer.form": "surface",
    "tokenizer.normalization": "NFC",
    "format_version": 99,
    "model.dim": 768,
}


def _edited(path: str, value: Any) -> Any:  # noqa: ANN401 - any JSON value
    if path in EDITS:
        return EDITS[path]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"
    if isinstance(value, list):
        return value[1:] if value else ["x"]
    if isinstance(value, dict):
        return {}
    return "x"


def _wrong_type(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return {"x": 1}
    if isinstance(value, dict):
        return ["x"]
    return 0


_DELETE = object()


def _field_paths(manifest: dict[str, Any]) -> list[tuple[str, list[str | int]]]:
    """Every top-level field, and the fields one level inside its objects (first source, one file record)."""
    paths: list[tuple[str, list[str | int]]] = []
    for key, value in manifest.items():
        paths.append((key, [key]))
        if isinstance(value, dict) and key != "versions":
            children: list[tuple[str, list[str | int]]] = []
            if key == "files":
                first = "findings.jsonl" if "findings.jsonl" in value else next(iter(value), None)
                if first is not None:
                    children = [(f"files[{first}].{k}", [key, first, k]) for k in value[first]]
            else:
                children = [(f"{key}.{k}", [key, k]) for k in value]
                if key == "tokenizer" and isinstance(value.get("dictionary"), dict):
                    children += [(f"tokenizer.dictionary.{k}", [key, "dictionary", k]) for k in value["dictionary"]]
            paths += children
        elif key == "sources" and isinstance(value, list) and value and isinstance(value[0], dict):
            paths += [(f"sources[0].{k}", [key, 0, k]) for k in value[0]]
    return paths


def _set(data: Any, path: list[str | int], value: Any) -> None:  # noqa: ANN401 - JSON
    for key in path[:-1]:
        data = data[key]
    if value is _DELETE:
        del data[path[-1]]
    else:
        data[path[-1]] = value


def _get(data: Any, path: list[str | int]) -> Any:  # noqa: ANN401 - JSON
    for key in path:
        data = data[key]
    return data


def manifest_damages(manifest: dict[str, Any], *, rehash: bool = False) -> list[Damage]:
    """null, wrong type, removed and edited for every field of :func:`_field_paths`; with ``rehash``, null, wrong
    type and removed only, the manifest's checksum recomputed (so that its schema checks are reached)."""
    out = []
    for label, path in _field_paths(manifest):
        if rehash and label == "checksum":
            continue
        value = _get(manifest, path)
        for what, new in (
            ("null", None),
            (f"wrong type ({json.dumps(_wrong_type(value))[:30]})", _wrong_type(value)),
            ("removed", _DELETE),
            (f"edited ({json.dumps(_edited(label, value), ensure_ascii=False)[:40]})", _edited(label, value)),
        )[: 3 if rehash else 4]:
            out.append(Damage(f"manifest {label}", what, _manifest_edit(path, new, rehash=rehash)))
    return out


def _manifest_edit(path: list[str | int], value: Any, *, rehash: bool) -> Callable[[Path], None]:  # noqa: ANN401
    def apply(index: Path) -> None:
        target = index / "manifest.json"
        data = json.loads(target.read_text(encoding="utf-8"))
        _set(data, path, value)
        if rehash and "checksum" in data:
            from kensaku.index.integrity import canonical_checksum  # this tree's (a baseline manifest has none)

            data["checksum"] = canonical_checksum(data)
        target.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")

    return apply


# The damages of --quick mode: (target, the start of what is done).
QUICK_DAMAGES = (
    ("findings.jsonl", "byte flipped in the middle"),
    ("findings.jsonl", "replaced"),
    ("vectors.npy", "byte flipped at the end"),
    ("vectors.npy", "replaced"),
    ("manifest.json", "truncated"),
    ("findings.jsonl rows", "rows 1 and 2 swapped"),
    ("manifest model.name", "null"),
    ("manifest model.name", "edited"),
    ("manifest counts.findings", "wrong type"),
    ("manifest counts.findings", "edited"),
)


def _pristine(side: Side, work: Path) -> Path:
    """The side's index of the ordinances (built once, with relative paths, from ``work``)."""
    _write_docs(work)
    pristine = work / "pristine"
    if not (pristine / "manifest.json").is_file():
        _build(side, work, "docs", index="pristine")
    return pristine


def corruptions(side: Side, work: Path, quick: bool, *, schema: bool = False) -> tuple[list[Outcome], list[str]]:
    """Every damage on a fresh copy of the side's index; returns the outcomes and notes (repairs). With
    ``schema``: the manifest fields set to null, a wrong type or removed, the checksum recomputed."""
    pristine, other = _pristine(side, work), work / "other"
    if not (other / "manifest.json").is_file():
        _build(side, work, "docs2", index="other")
    ran, expected = search(side, pristine, work)
    if expected is None:
        raise SystemExit(f"[{side.label}] the pristine index does not answer: {ran.err}")
    files = sorted(p.relative_to(pristine).as_posix() for p in pristine.rglob("*") if p.is_file())
    manifest = json.loads((pristine / "manifest.json").read_text(encoding="utf-8"))
    if schema:
        damages = manifest_damages(manifest, rehash=True)
    else:
        damages = file_damages(pristine, files, other) + row_damages() + manifest_damages(manifest)
    if quick:
        damages = [d for d in damages if any(d.target == t and d.what.startswith(w) for t, w in QUICK_DAMAGES)]
    outcomes, repaired, tried_repair, refused = [], 0, 0, 0
    repaired_targets: set[str] = set()
    case = work / "case"
    for damage in damages:
        shutil.rmtree(case, ignore_errors=True)
        shutil.copytree(pristine, case, symlinks=True)
        damage.apply(case)
        ran, answers = search(side, case, work)
        held, detail, command = _judge_search(ran, answers, expected)
        if command is not None:
            refused += 1
        group = "manifest fields" if damage.target.startswith("manifest ") else damage.target
        if command and group not in repaired_targets:
            repaired_targets.add(group)
            tried_repair += 1
            ok, how = _repair(side, command, case, work, expected)
            repaired += ok
            detail += f"; repair {'gave back the pristine answers' if ok else 'FAILED: ' + how}"
        repro = (
            ""
            if held
            else (
                f"`kensaku build docs --index idx` of {ORDINANCE.relative_to(ROOT)}/*.{{txt,html}} in docs/, then "
                f"{damage.name}, then `kensaku search --queries q.txt --index idx --format json` "
                f"(q.txt: {', '.join(QUERIES)})"
            )
        )
        outcomes.append(Outcome(damage.name, held, detail, repro))
        print(f"  [{side.label}] {damage.name}: {'held' if held else 'FAILED'} — {detail[:160]}", flush=True)
    note = (
        f"{side.label}: {refused} refusal(s); the printed command was run for the first refusal of each file (and of "
        "the manifest's fields, of the rows) "
        f"({tried_repair}): {repaired} gave back the pristine answers"
    )
    return outcomes, [note]


def _judge_search(ran: Ran, answers: Any, expected: Any) -> tuple[bool, str, str | None]:  # noqa: ANN401 - JSON
    """(held, detail, the rebuild command when refused with one; "" when refused without one)."""
    if ran.killed or ran.traceback:
        return False, _why(ran, 300), None
    if ran.rc == 0:
        if answers == expected:
            return True, "answers as the pristine index (the damage does not matter)", None
        return False, "served different answers silently (exit 0)", None
    if ran.rc == 2:
        match = COMMAND.search(ran.err)
        if match and "kensaku build" in ran.err:
            return True, f"refused: {_last_line(ran.err)}", match.group(1)
        return False, f"refused without a rebuild command: {_last_line(ran.err)}", ""
    return False, _why(ran, 300), None


def _repair(side: Side, command: str, index: Path, work: Path, expected: Any) -> tuple[bool, str]:  # noqa: ANN401
    """Run the printed rebuild command from another directory; then search must give the pristine answers."""
    argv = shlex.split(command)
    if "PATH" in argv:
        return False, "the command has no sources (PATH ...)"
    ran = run([*side.cli, *argv[1:], "--no-progress"], env=side.env, cwd=work / "elsewhere", timeout=600)
    if ran.rc != 0:
        return False, f"the rebuild failed: {_why(ran, 600)}"
    again, answers = search(side, index, work / "elsewhere")
    if answers != expected:
        return False, f"after the rebuild: {_why(again, 300) if again.rc else 'other answers'}"
    return True, ""


# --- SIGKILL ------------------------------------------------------------------------------------------------------


def sigkill(side: Side, work: Path, trials: int, seed: int) -> tuple[list[Outcome], list[str]]:
    """Kill ``kensaku add`` / ``kensaku build --full`` at random moments; the index must answer as old or new."""
    pristine = _pristine(side, work)
    _, old = search(side, pristine, work)
    variants = {
        "add": lambda idx: [*side.cli, "add", "extra.md", "--index", str(idx), "--no-progress"],
        "build --full": lambda idx: [
            *side.cli,
            "build",
            "docs",
            "extra.md",
            "--index",
            str(idx),
            "--full",
            "--no-progress",
        ],
    }
    new, took = {}, {}
    for name, command in variants.items():
        ref = work / f"ref-{name.split()[0]}"
        shutil.rmtree(ref, ignore_errors=True)
        shutil.copytree(pristine, ref)
        ran = run(command(ref), env=side.env, cwd=work, timeout=600)
        if ran.rc != 0:
            raise SystemExit(f"[{side.label}] kensaku {name} failed: {ran.err}")
        took[name] = ran.seconds
        new[name] = search(side, ref, work)[1]
    rng = random.Random(seed)
    outcomes, landed = [], 0
    trial = work / "trial"
    for t in range(trials):
        name = list(variants)[t % 2]
        delay = rng.uniform(0.05, took[name] * 1.1)
        shutil.rmtree(trial, ignore_errors=True)
        shutil.copytree(pristine, trial)
        proc = subprocess.Popen(
            variants[name](trial),
            env=side.env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait()
        landed += rc == -signal.SIGKILL
        time.sleep(1.0)
        orphans = _group_rss(proc.pid) > 0
        _kill_group(proc.pid)
        ran, answers = search(side, trial, work)
        when = f"killed after {delay:.2f} s" if rc == -signal.SIGKILL else f"finished before the kill ({delay:.2f} s)"
        if ran.rc == 0 and answers in (old, new[name]) and not orphans:
            which = "old" if answers == old else "new"
            outcomes.append(Outcome(f"{name}, {when}", True, f"answers as the {which} index"))
        else:
            why = (
                "a reader worker outlived the killed build"
                if orphans
                else (_why(ran, 300) if ran.rc else "answers neither old nor new")
            )
            repro = f"`kensaku {name} …` on an index of {work / 'docs'}, SIGKILL after {delay:.2f} s, then search"
            outcomes.append(Outcome(f"{name}, {when}", False, why, repro))
        print(f"  [{side.label}] kill {name} after {delay:.2f}s: {outcomes[-1].detail}", flush=True)
    note = (
        f"{side.label}: {landed} of {trials} kills landed while the command ran (uninterrupted: add "
        f"{took['add']:.1f} s, build --full {took['build --full']:.1f} s)"
    )
    return outcomes, [note]


# --- two writers --------------------------------------------------------------------------------------------------


def two_writers(side: Side, work: Path, repeats: int) -> list[Outcome]:
    """``kensaku add a.md`` and ``kensaku add b.md`` at once, on a fresh copy of the index each time."""
    pristine = _pristine(side, work)
    outcomes = []
    target = work / "writers"
    for r in range(repeats):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(pristine, target)
        command = [*side.cli, "add", "NAME", "--index", str(target), "--no-progress"]
        procs = {
            name: subprocess.Popen(
                [name if arg == "NAME" else arg for arg in command],
                env=side.env,
                cwd=work,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in WRITERS
        }
        results = {}
        for name, proc in procs.items():
            err = proc.communicate(timeout=600)[1]
            results[name] = (proc.returncode, err)
        info = run([*side.cli, "info", "--index", str(target), "--format", "json"], env=side.env, cwd=work, timeout=120)
        try:
            names = {Path(s["path"]).name for s in json.loads(info.out)["sources"]}
        except (ValueError, KeyError, TypeError):
            names = set()
        outcomes.append(_judge_writers(r, results, names))
        print(f"  [{side.label}] writers #{r + 1}: {outcomes[-1].detail}", flush=True)
    return outcomes


def _judge_writers(r: int, results: dict[str, tuple[int, str]], names: set[str]) -> Outcome:
    codes = {name: rc for name, (rc, _) in results.items()}
    errors = "".join(err for _, err in results.values())
    case = f"two adds at once #{r + 1}"
    if "Traceback" in errors:
        return Outcome(case, False, f"traceback: {_last_line(errors)}", "two `kensaku add` at once on one index")
    if all(rc == 0 for rc in codes.values()) and set(WRITERS) <= names:
        waited = "one waited for the other" if "waiting" in errors else "no overlap seen"
        return Outcome(case, True, f"both documents in the index ({waited})")
    refused = [n for n, rc in codes.items() if rc == 2]
    done = [n for n, rc in codes.items() if rc == 0]
    if len(refused) == 1 and len(done) == 1 and done[0] in names:
        err_lines = [line for line in results[refused[0]][1].splitlines() if line.strip()]
        if len(err_lines) == 1 and err_lines[0].startswith("kensaku:"):
            return Outcome(case, True, f"{refused[0]} refused: {err_lines[0][:120]}")
    lost = sorted(set(WRITERS) - names)
    detail = f"{'lost ' + ', '.join(lost) if lost else 'no clean outcome'}: exit statuses {codes}, documents in the "
    detail += f"index {sorted(names & set(WRITERS))}"
    return Outcome(case, False, detail, "`kensaku add a.md --index IDX & kensaku add b.md --index IDX`")


# --- adversarial queries ------------------------------------------------------------------------------------------


def adversarial_queries() -> list[list[str]]:
    """The argv lists (after ``search``) of the adversarial-query category, about 200."""
    invisible = ["", " ", "\u3000", "\t", "\n", "\r\n", "\u200b", "\ufeff", "\u2060", "\u3164", "\u2800", "\u115f",
                 "\u180e", "\u00ad", "\u200b\ufeff\u3000", "\u200e", "\u200f", "\u202e", "\u2066\u2069", "\ufe0f",
                 "\U000e0100", "\u034f", "\u1160", "\uffa0", "\u3000" * 500]  # fmt: skip
    texts = [
        "駐車場", "あ" * 2000, "あ" * 2001, "a" * 10_000, "駐車場" * 700, " " * 3000 + "駐車場",
        "\x00", "駐車場\x00", "\x1b[31m駐車場\x1b[0m", "\x1b]0;pwned\x07駐車場", "\x07", "\x7f", "\x85駐車場",
        "\x9b31m駐車場", "\r駐車場", "駐車場\n表彰", "駐車場\x0b\x0c", "\x08\x08\x08x",
        "\udcff", "駐車場\udc80", "\ud800", "\udbff\udfff",
        "\u202e駐車場の管理", "\u200f表彰", "\u202a駐車場\u202c", "\u2066表彰\u2069",
        "🚗", "🅿️駐車場", "👨‍👩‍👧", "🇯🇵の表彰", "😀" * 1000,
        "𠮷野家", "𩸽", "𠀋の条例", "\U0002a6b2" * 50,
        "か\u3099", "e\u0301", "\u0301" * 100, "Z" + "\u0300\u0301\u0302" * 300,
        "' OR 1=1 --", '"; DROP TABLE findings; --', ".*", "(a+)+$", "[", "\\", "\\\\\\", "%s%n%x", "{0}{1}",
        "${HOME}", "$(rm -rf /)", "`id`", "<script>alert(1)</script>", "&amp;&lt;", "<!--", "]]>", "AND OR NOT",
        "*", "?", "-", "--", "-k", "--index", "/", "../../etc/passwd", "NUL", "null", "None", "NaN", "1e309",
        "ＡＢＣ", "ｶﾞｲﾄﾞ", "Ⅳ", "㍻", "①②", "～〜", "ﷺ" * 500, "㌀" * 2000, "\ufdfa" * 200,
        "葛\U000e0100", "\ue000", "\uffff", "\ufffe", "\ufffd", "\U0010ffff",
        "の", "、、、", "。", "ーーー", "のはが", "　　の　　", "！？", "・・・", "※", "■",
        "駐車場 " * 300, "駐車場" + "\u200b" * 1500, "#" * 2000, "<" * 2000, "[" * 2000, "(" * 2000,
        "第1条", "第１条　目的", "表彰の基準は何か", "行政手続法の目的は", "駐車場で禁止されている行為",
    ]  # fmt: skip
    json_fmt = ["--format", "json"]
    cases = [[q, *json_fmt] for q in invisible + texts]
    cases += [[q, "--format", "text"] for q in texts[:40] + invisible[:10]]
    cases += [[q, "--format", "jsonl"] for q in texts[6:14]]
    base = "駐車場の管理"
    options = [
        ["-k", "0"], ["-k", "-1"], ["-k", "1"], ["-k", "100000"], ["-k", "2147483648"], ["-k", "abc"],
        ["-k", "1e3"], ["--depth", "0"], ["--depth", "-5"], ["--depth", "1000000000"], ["--w-dense", "nan"],
        ["--w-dense", "inf"], ["--w-dense", "-1"], ["--w-dense", "2"], ["--mode", "bm25"], ["--mode", "dense"],
        ["--fusion", "rrf"], ["--fusion", "rrf", "--depth", "0"], ["--municipality", ""], ["--municipality", "\x00"],
        ["--chapter", "\x1b[31m"], ["--section", "𠮷"], ["--kind", "lesson"], ["--mode", "bm25", "-k", "0"],
    ]  # fmt: skip
    cases += [[base, *opt, *json_fmt] for opt in options]
    cases += [["の", "--mode", "bm25", *json_fmt], ["の", "--mode", "dense", *json_fmt], ["。", "--mode", "bm25"]]
    cases += [["--", "-k", *json_fmt], ["--", "--index", *json_fmt], [*json_fmt], ["a", "b", *json_fmt]]
    cases += [["--queries", name, *json_fmt] for name in QUERY_FILES]
    cases += [["--queries", "/nonexistent/q.txt", *json_fmt], ["--queries", "/dev/null", *json_fmt]]
    cases += [["--queries", ".", *json_fmt], [base, "--queries", "q-plain.txt", *json_fmt]]
    return cases


QUERY_FILES = {
    "q-plain.txt": "駐車場の管理\n表彰の基準\n".encode(),
    "q-blank.txt": b"\n\n   \n\xe3\x80\x80\n",
    "q-cp932.txt": "駐車場の管理\n".encode("cp932"),
    "q-utf16.txt": "駐車場の管理\n".encode("utf-16"),
    "q-bom.txt": "\ufeff駐車場の管理\n".encode(),
    "q-invisible.txt": "駐車場\n\u200b\ufeff\n表彰\n".encode(),
    "q-controls.txt": "\x1b[31m駐車場\n\x00\n".encode(),
    "q-long.txt": ("あ" * 2001 + "\n").encode(),
    "q-binary.txt": bytes(range(256)) * 4,
    "q-many.txt": "".join(f"駐車場{i}\n" for i in range(300)).encode(),
}
BYTES_QUERIES: list[bytes] = [
    b"\xff\xfe", "フェロー".encode("cp932"), b"\xe3\x81", b"\x80\x80\x80", "駐車場".encode() + b"\xff",
    b"\xed\xa0\x80", "駐車場".encode("euc_jp"), b"\xc0\xaf", b"\x1b[2J", "表彰".encode("utf-16-le"),
]  # fmt: skip


def harness(index: str, cases_file: str, results_file: str, start: int) -> None:
    """Run ``kensaku.cli.main`` on each case from ``start`` (the ``--harness`` entry point; the embedder is loaded
    once for all of them); one JSON line per case into ``results_file``."""
    import functools

    import kensaku.api
    from kensaku.cli import main as cli_main

    kensaku.api.load_embedder = functools.cache(kensaku.api.load_embedder)  # type: ignore[assignment]
    cases = json.loads(Path(cases_file).read_text(encoding="utf-8"))
    # One stdout and one stderr for all cases (the CLI's log handler keeps the stderr it first saw), each case's
    # output sliced out by position; stdout is strict UTF-8 like a pipe's, stderr backslash-escapes like Python's.
    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdout, sys.stderr
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
    with open(results_file, "a", encoding="utf-8") as results:
        for i in range(start, len(cases)):
            argv = ["search", "--index", index, "--no-progress", *cases[i]]
            at_out, at_err = out.tell(), err.tell()
            try:
                rc = cli_main(argv)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
                rc = 1
            sys.stdout.flush()
            sys.stderr.flush()
            record = {
                "i": i,
                "rc": rc,
                "out": out.getvalue()[at_out:].decode("latin-1"),
                "err": err.getvalue()[at_err:].decode("latin-1"),
            }
            results.write(json.dumps(record) + "\n")
            results.flush()
    sys.stdout, sys.stderr = saved


def queries(side: Side, work: Path, quick: bool) -> list[Outcome]:
    """The adversarial queries through the harness, then the ``bytes`` argv ones as separate processes."""
    pristine = _pristine(side, work)
    for name, data in QUERY_FILES.items():
        (work / name).write_bytes(data)
    cases = adversarial_queries()
    if quick:
        cases = cases[::3]
    cases_file, results_file = work / "cases.json", work / f"results-{side.label}.jsonl"
    cases_file.write_text(json.dumps(cases), encoding="utf-8")
    results_file.unlink(missing_ok=True)
    records = _run_harness(side, work, pristine, cases_file, results_file, len(cases))
    outcomes = []
    for i, argv in enumerate(cases):
        rec = records[i]
        held, detail = _judge_query(argv, rec)
        shown = ascii(argv)[:160]
        repro = "" if held else f"`kensaku search {shown} --index IDX` (argv as Python literals)"
        outcomes.append(Outcome(shown, held, detail, repro))
    for raw in BYTES_QUERIES:
        command = [*side.cli, "search", raw, "--index", str(pristine), "--format", "json", "--no-progress"]
        ran = run(command, env=side.env, cwd=work, timeout=120)
        rec = {"rc": ran.rc, "out": ran.out, "err": ran.err} if not ran.killed else {"rc": None, "why": _why(ran, 120)}
        held, detail = _judge_query(["(bytes)", "--format", "json"], {**rec, "text": True})
        repro = "" if held else f"`kensaku search` with the argv bytes {raw!r}"
        outcomes.append(Outcome(f"bytes argv {raw!r}", held, detail, repro))
    for o in outcomes:
        if not o.held:
            print(f"  [{side.label}] FAILED {o.case}: {o.detail[:200]}", flush=True)
    failed = sum(not o.held for o in outcomes)
    print(f"  [{side.label}] {len(outcomes)} queries, {failed} failed", flush=True)
    return outcomes


def _run_harness(
    side: Side, work: Path, index: Path, cases_file: Path, results_file: Path, n: int
) -> dict[int, dict[str, Any]]:
    """Run the harness until every case has a record; a crash or a hang (60 s) is recorded and the next case goes."""
    records: dict[int, dict[str, Any]] = {}
    start = 0
    while start < n:
        command = [sys.executable, __file__, "--harness", str(index), str(cases_file), str(results_file), str(start)]
        proc = subprocess.Popen(
            command, env=side.env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        last, seen = time.monotonic(), len(records)
        while proc.poll() is None:
            time.sleep(0.2)
            records.update(_read_records(results_file))
            if len(records) > seen:
                last, seen = time.monotonic(), len(records)
            elif time.monotonic() - last > 60:
                _kill_group(proc.pid)
                proc.wait()
                break
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        records.update(_read_records(results_file))
        nxt = max(records, default=-1) + 1
        if nxt < n and nxt >= start:
            why = (
                "hang (no answer in 60 s)"
                if proc.returncode == -signal.SIGKILL
                else (f"the process died (exit {proc.returncode}): {_last_line(stderr)}")
            )
            records[nxt] = {"i": nxt, "rc": None, "why": why}
            with results_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(records[nxt]) + "\n")
            nxt += 1
        start = nxt
        _kill_group(proc.pid)
    return records


def _read_records(path: Path) -> dict[int, dict[str, Any]]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            rec = json.loads(line)
            out[rec["i"]] = rec
    return out


def _judge_query(argv: list[str], rec: dict[str, Any]) -> tuple[bool, str]:
    """Held or failed for one query (see the module docstring)."""
    if rec.get("rc") is None:
        return False, rec.get("why", "no answer")
    rc = rec["rc"]
    raw_out = rec["out"] if rec.get("text") else rec["out"].encode("latin-1").decode("utf-8", errors="replace")
    err = rec["err"] if rec.get("text") else rec["err"].encode("latin-1").decode("utf-8", errors="replace")
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else "text"
    if "Traceback (most recent call last)" in err:
        return False, f"traceback: {_last_line(err)}"
    if CONTROLS.search(err):
        return False, f"control characters on stderr: {ascii(_last_line(err))[:120]}"
    if rc == 0:
        problem = _output_problem(raw_out, fmt, rec)
        return (False, problem) if problem else (True, f"answered ({fmt})")
    if rc == 2:
        errors = [line for line in err.splitlines() if "error:" in line]
        if len(errors) == 1 and errors[0].startswith("kensaku"):
            return True, f"refused: {errors[0][:140]}"
        return False, f"exit 2 without one error line: {err[-200:]!a}"
    return False, f"exit {rc}: {_last_line(err)}"


def _output_problem(out: str, fmt: str, rec: dict[str, Any]) -> str:
    """Why stdout is not valid output of ``fmt`` ("" when it is)."""
    if not rec.get("text"):
        try:
            rec["out"].encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            return "stdout is not UTF-8"
    try:
        if fmt == "json":
            json.loads(out)
        elif fmt == "jsonl":  # lines end at "\n" only (U+0085 and U+2028 inside a JSON string are text)
            for line in out.split("\n")[:-1]:
                json.loads(line)
    except ValueError as exc:
        return f"invalid {fmt} on stdout: {exc}"
    if fmt == "text" and CONTROLS.search(out):
        return f"control characters on stdout: {CONTROLS.findall(out)[:5]!a}"
    return ""


# --- open time ----------------------------------------------------------------------------------------------------


def open_time(work: Path, quick: bool) -> list[str]:
    """Open time with and without the checksums, and ``verify`` time, of the JSQuAD and a 100k-finding index."""
    lines = []
    jsquad = work / "open-jsquad"
    try:
        _save_jsquad(jsquad)
        lines.append(_time_index("JSQuAD (2,304 findings, e5-small-int8 vectors)", jsquad))
    except SystemExit as exc:
        lines.append(f"JSQuAD: not measured ({exc})")
    n = 10_000 if quick else 100_000
    big = work / "open-synthetic"
    _save_synthetic(big, n)
    lines.append(_time_index(f"synthetic {n:,} findings (random unit vectors: a stand-in embedder)", big))
    return lines


def _save_jsquad(directory: Path) -> None:
    from common import cached_vectors, jsquad_findings

    from kensaku.index.build import dense_text
    from kensaku.index.embed import load_embedder
    from kensaku.index.manifest import BuildOptions, ModelInfo

    findings = jsquad_findings()
    embedder = load_embedder("e5-small-int8")
    vectors = cached_vectors(embedder, [dense_text(f, BuildOptions()) for f in findings], kind="passage")
    _save(directory, findings, vectors, ModelInfo.of(embedder))


def _save(
    directory: Path,
    findings: list[Any],
    vectors: Any,  # noqa: ANN401 - a numpy array (numpy is imported by the functions that need it)
    model: Any,  # noqa: ANN401 - a ModelInfo (kensaku is imported inside: the harness imports the baseline's)
    tokens: list[list[str]] | None = None,
) -> None:
    from kensaku.index.build import lexical_text
    from kensaku.index.dense import DenseIndex
    from kensaku.index.manifest import BuildOptions, Manifest
    from kensaku.index.sparse import SparseIndex
    from kensaku.index.store import IndexBundle, save_bundle
    from kensaku.index.tokenizer import Tokenizer

    tokenizer = Tokenizer()
    if tokens is None:
        tokens = [tokenizer.tokenize(lexical_text(f, BuildOptions())) for f in findings]
    manifest = Manifest(
        model=model,
        tokenizer=tokenizer.config,
        dictionary=tokenizer.dictionary,
        build_options=BuildOptions(),
        ingest=None,
        inputs=(),
        sources=(),
        findings=len(findings),
    ).stamped()
    bundle = IndexBundle(None, manifest, tuple(findings), SparseIndex.build(tokens), DenseIndex.build(vectors))
    save_bundle(bundle, directory)


def _municipalities(n: int) -> list[str]:
    table = ROOT / "ingest" / "data" / "municipalities.tsv"
    names = []
    for line in table.read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) > 2 and cells[2] and cells[2] not in names:
            names.append(cells[2])
    return names[:: max(len(names) // n, 1)][:n]


def _save_synthetic(directory: Path, n: int) -> None:
    """``n`` findings: the JSQuAD passages again and again, each time under another municipality's name."""
    from dataclasses import replace

    import numpy as np
    from common import jsquad_findings

    from kensaku.index.build import lexical_text
    from kensaku.index.manifest import BuildOptions, ModelInfo
    from kensaku.index.tokenizer import Tokenizer

    base = jsquad_findings()
    tokenizer = Tokenizer()
    base_tokens = [tokenizer.tokenize(lexical_text(f, BuildOptions())) for f in base]
    names = _municipalities(n // len(base) + 1)
    findings, tokens = [], []
    for i in range(n):
        f, name = base[i % len(base)], names[i // len(base)]
        findings.append(replace(f, id=f"{f.id}~{i // len(base)}", text=f"{name}: {f.text}", municipality=name))
        tokens.append([*base_tokens[i % len(base)], name])
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, 384), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    _save(directory, findings, vectors, ModelInfo("stand-in: random unit vectors", 384), tokens)


def _time_index(label: str, directory: Path) -> str:
    from kensaku.index.store import load_index, verify_index

    plain = directory.with_name(directory.name + "-v2")
    shutil.rmtree(plain, ignore_errors=True)
    shutil.copytree(directory, plain)
    data = json.loads((plain / "manifest.json").read_text(encoding="utf-8"))
    data["format_version"] = 2
    data.pop("files", None)
    data.pop("checksum", None)
    (plain / "manifest.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())

    def once(fn: Callable[[], object]) -> float:
        """Seconds of one call."""
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    for warm in (directory, plain):
        load_index(warm, verify_sources=False)

    runs = [
        (
            once(lambda: load_index(directory, verify_sources=False)),
            once(lambda: load_index(plain, verify_sources=False)),
        )
        for _ in range(7)
    ]  # interleaved, so that a change of the machine's load hits both alike
    checked = statistics.median(c for c, _ in runs)
    unchecked = statistics.median(u for _, u in runs)
    verify = statistics.median(once(lambda: verify_index(directory)) for _ in range(3))
    return (
        f"{label}, {size / 2**20:,.0f} MB on disk: `load_index` with checksums {checked * 1000:,.0f} ms, without "
        f"(format 2 manifest) {unchecked * 1000:,.0f} ms: ×{checked / unchecked:.2f} "
        f"(+{(checked - unchecked) * 1000:,.0f} ms); `verify_index` (kensaku verify) {verify * 1000:,.0f} ms "
        f"(load {os.getloadavg()[0]:.2f})"
    )


@contextlib.contextmanager
def _snapshot_env() -> Iterator[dict[str, str]]:
    """The environment that imports kensaku from a copy of this working tree as it is now (laid out as installed,
    like the baseline's), so that edits made during a long run do not change the after column halfway."""
    with tempfile.TemporaryDirectory(prefix="kensaku-now-") as tmp:
        pkg = Path(tmp) / "kensaku"
        skip = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / "kensaku", pkg, ignore=skip)
        shutil.copytree(ROOT / "ingest", pkg / "ingest", ignore=skip)
        shutil.copytree(ROOT / "index", pkg / "index", ignore=skip)
        yield {**os.environ, "PYTHONPATH": tmp}


# --- the report ---------------------------------------------------------------------------------------------------


def _counts(outcomes: list[Outcome]) -> tuple[int, int]:
    held = sum(o.held for o in outcomes)
    return held, len(outcomes) - held


def report(
    categories: list[Category], opening: list[str], args: argparse.Namespace, loads: list[str], snapshot: str
) -> str:
    """The markdown report."""
    out = [
        f"# Reliability probe ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"`.venv/bin/python bench/reliability.py{' --quick' if args.quick else ''} --files {args.files} --seed "
        f"{args.seed}`: after = this working tree ({_git('rev-parse', '--short', 'HEAD')} with uncommitted changes: "
        f"{'yes' if _git('status', '--porcelain') else 'no'}) as copied at {snapshot}, before = {args.baseline}; "
        "2 cores. "
        "What held and failed means per category: the docstring of `bench/reliability.py`.",
        "",
        "| category | tried | held before | failed before | held after | failed after |",
        "|---|---|---|---|---|---|",
    ]
    for cat in categories:
        hb, fb = _counts(cat.before)
        ha, fa = _counts(cat.after)
        tried = str(len(cat.after)) if len(cat.before) == len(cat.after) else f"{len(cat.before)} / {len(cat.after)}"
        out.append(f"| {cat.name} | {tried} | {hb} | {fb} | {ha} | {fa} |")
    out += [
        "",
        "Where tried differs it is before / after (the after index has one more file and more manifest fields).",
    ]
    for cat in categories:
        if cat.notes:
            out += ["", f"{cat.name}:", *[f"- {note}" for note in cat.notes]]
    out += ["", "## Failures after", ""]
    failures = [(cat.name, o) for cat in categories for o in cat.after if not o.held]
    out += [f"- **{name}** — {o.case}: {o.detail}. Reproducer: {o.reproducer}" for name, o in failures] or ["None."]
    out += ["", "## Failures before, by kind", ""]
    for cat in categories:
        kinds = Counter(_kind(o.detail) for o in cat.before if not o.held)
        if kinds:
            out.append(f"- {cat.name}: " + "; ".join(f"{k} ×{v}" for k, v in kinds.most_common()))
    out += ["", "## Open time (this tree)", "", *[f"- {line}" for line in opening], "", "## Machine load", ""]
    out += [f"- {line}" for line in loads]
    return "\n".join(out) + "\n"


def _kind(detail: str) -> str:
    """A failure's kind for grouping (its text up to the first colon or parenthesis)."""
    return re.split(r"[:(;]", detail, maxsplit=1)[0].strip()[:80]


def _clean(env: dict[str, str]) -> dict[str, str]:
    """``env`` without the settings that would point kensaku at another index or change its limits."""
    keep = ("KENSAKU_FILE_TIMEOUT", "KENSAKU_CACHE", "KENSAKU_SHARED")
    return {k: v for k, v in env.items() if not k.startswith("KENSAKU_") or k in keep}


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="b977a8d", help="commit to compare with (default: before issue 11)")
    parser.add_argument(
        "--files", type=int, help="random mutated files, spread over the formats (default 40; quick: 4)"
    )
    parser.add_argument("--quick", action="store_true", help="a subset of every category (a few minutes)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the mutations and kill delays")
    parser.add_argument(
        "--timeout",
        type=float,
        help="hard timeout of one bad-input build, s (default 60, the baseline 90; quick: 40 for both)",
    )
    parser.add_argument(
        "--only", help="comma-separated: inputs,corrupt,schema,kill,writers,queries,open (default: all)"
    )
    parser.add_argument("--write-case", nargs=2, metavar=("NAME", "DIR"), help="write one bad-input case and exit")
    parser.add_argument("--harness", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.harness:
        harness(*args.harness[:3], int(args.harness[3]))
        return
    if args.write_case:
        directory = Path(args.write_case[1])
        directory.mkdir(parents=True, exist_ok=True)
        path, what = mutations.find_case(args.write_case[0], args.seed).write(directory)
        print(f"{path}: {what}")
        return
    args.files = args.files if args.files is not None else (4 if args.quick else 40)
    timeout = args.timeout or (40.0 if args.quick else 60.0)
    only = set((args.only or "inputs,corrupt,schema,kill,writers,queries,open").split(","))
    loads = [f"before: {_load()} (1 / 5 / 15 min)"]
    started = time.monotonic()
    categories: list[Category] = []
    with (
        tempfile.TemporaryDirectory(prefix="kensaku-reliability-") as tmp,
        _baseline_env(args.baseline) as base_env,
        _snapshot_env() as now_env,
    ):
        work = Path(tmp)
        snapshot = f"{datetime.now(UTC):%H:%M} UTC"
        sides = [
            Side("before", _clean({**base_env, "KENSAKU_FILE_TIMEOUT": "20"}), timeout * (1 if args.quick else 1.5)),
            Side("after", _clean({**now_env, "KENSAKU_FILE_TIMEOUT": "20"}), timeout),
        ]
        for name, fn in _categories(args, work).items():
            if name not in only:
                continue
            cat = Category(_TITLES[name])
            for side in sides:
                print(f"{cat.name} [{side.label}] (load {_load()})", flush=True)
                side_work = work / side.label
                side_work.mkdir(exist_ok=True)
                outcomes, notes = fn(side, side_work)
                cat.side(side.label).extend(outcomes)
                cat.notes += notes
            loads.append(f"after {cat.name}: {_load()}")
            categories.append(cat)
        opening = open_time(work, args.quick) if "open" in only else []
    loads.append(f"end: {_load()}; the run took {(time.monotonic() - started) / 60:.0f} min")
    text = report(categories, opening, args, loads, snapshot)
    # Only a full run is a result; a quick or partial one goes next to the kept files.
    target = RESULTS if not args.quick and not args.only else KEPT / "reliability-quick.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {target}")


_TITLES = {
    "inputs": "bad inputs",
    "corrupt": "index corruptions",
    "schema": "manifest schema (checksum recomputed)",
    "kill": "SIGKILL at random moments",
    "writers": "two writers at once",
    "queries": "adversarial queries",
}


def _categories(
    args: argparse.Namespace, work: Path
) -> dict[str, Callable[[Side, Path], tuple[list[Outcome], list[str]]]]:
    """Each category as ``fn(side, work) -> (outcomes, notes)``."""
    files: list[tuple[mutations.Case, Path, str]] = []

    def inputs(side: Side, w: Path) -> tuple[list[Outcome], list[str]]:
        if not files:  # made once, for both sides
            made = work / "inputs"
            made.mkdir()
            for case in bad_input_cases(args.files, args.seed, args.quick):
                path, what = case.write(made)
                files.append((case, path, what))
        return bad_inputs(side, files, w, args.seed), []

    return {
        "inputs": inputs,
        "corrupt": lambda side, w: corruptions(side, w, args.quick),
        "schema": lambda side, w: corruptions(side, w, args.quick, schema=True),
        "kill": lambda side, w: sigkill(side, w, 2 if args.quick else 25, args.seed),
        "writers": lambda side, w: (two_writers(side, w, 1 if args.quick else 5), []),
        "queries": lambda side, w: (queries(side, w, args.quick), []),
    }


if __name__ == "__main__":
    main()
