"""Ray's connect is tried once more only when it failed on psutil's race (a process that exited while Ray read it)."""

from __future__ import annotations

from kensaku.index.embed_ray import _process_vanished


class ZombieProcess(Exception):  # named as psutil names it; psutil itself is Ray's vendored copy
    pass


def test_a_vanished_process_anywhere_in_the_chain_is_recognised() -> None:
    try:
        try:
            raise ZombieProcess("PID still exists but it's a zombie (pid=13382)")
        except ZombieProcess as inner:
            raise RuntimeError("ray client failed") from inner
    except RuntimeError as outer:
        assert _process_vanished(outer)


def test_other_failures_are_not_retried() -> None:
    assert not _process_vanished(ConnectionError("connection refused"))
    assert not _process_vanished(RuntimeError("x"))
