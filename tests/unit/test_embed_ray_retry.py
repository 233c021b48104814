"""Ray's connect is tried once more only when it failed on a race of Ray's own: psutil's (a process that exited while
Ray read it), or a ``ray://`` proxy that could not start this client's server process."""

from __future__ import annotations

from kensaku.index.embed_ray import _client_server_failed, _process_vanished


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


def test_a_client_server_that_did_not_start_is_recognised() -> None:
    refused = RuntimeError("Starting Ray client server failed. See ray_client_server_23000.err for detailed logs.")
    try:
        try:
            raise ConnectionAbortedError("Initialization failure from server:\n" + str(refused))
        except ConnectionAbortedError as inner:
            raise RuntimeError("in init") from inner
    except RuntimeError as outer:
        assert _client_server_failed(outer)
    assert not _client_server_failed(ConnectionError("connection refused"))
    assert not _process_vanished(refused)
