"""Bulk embedding on Ray (``--embed-with ray``), on one real local Ray cluster (2 CPUs) shared by the module.

The actors hold the real default model; their vectors equal the local embedder's bit for bit, a build on Ray equals
a local build (``vectors.npy`` byte for byte, the same top 10), ``kensaku add --embed-with ray`` embeds its new
findings as a local add would, and bad values or an unreachable cluster fail at once with a message and the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kensaku.cli import main
from kensaku.config import DEFAULTS
from kensaku.index.build import dense_text
from kensaku.index.embed import Embedder, load_embedder
from kensaku.index.embed_ray import (
    EmbedTarget,
    EmbedWithError,
    RayEmbedder,
    RayEmbedError,
    parse_embed_with,
)
from kensaku.index.manifest import BuildOptions
from tests.support import ROOT

pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'kensaku[ray]'")

QUERIES = ("フェローの契約形態は", "住民説明会は何回開いたか", "事業の予算と財源", "大学との連携の成果")
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A local Ray with 2 CPUs and a 100 MiB object store (no token file, no usage report), shut down at the end."""
    import ray

    saved = {key: os.environ.get(key) for key in RAY_ENV}
    os.environ.update(RAY_ENV)
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 1024 * 1024, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def local() -> Embedder:
    return load_embedder()  # the real default model (e5-small-int8), on the CPU


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """The build texts of 64 findings of the seed corpus (short and long ones, so some take several windows)."""
    from kensaku.ingest import ingest_paths

    findings = ingest_paths([ROOT / "corpus"]).findings
    options = BuildOptions.of(DEFAULTS)
    picked = sorted(findings, key=lambda f: len(dense_text(f, options)))
    return [dense_text(f, options) for f in picked[:32] + picked[-32:]]


def test_two_actors_give_the_local_vectors_bit_for_bit(ray_cluster: Any, local: Embedder, texts: list[str]) -> None:
    expected = local.encode_passages(texts)
    done: list[int] = []
    with RayEmbedder(local, "ray", actors=2, batch=8) as remote:
        vectors = remote.encode_passages(texts, progress=done.append)
        assert remote.actors == 2
        again = remote.encode_passages(texts[:5])  # a second call reuses the actors
        facts = local.describe()  # type: ignore[attr-defined]
        assert (remote.name, remote.dim, remote.describe()) == (local.name, local.dim, facts)
        assert np.array_equal(remote.encode_queries(QUERIES), local.encode_queries(QUERIES))
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), local.dim)
    assert np.array_equal(vectors, expected)
    assert np.array_equal(again, expected[:5])
    assert sum(done) == len(texts) and len(done) == len(texts) // 8  # progress per batch as it came back
    assert ray_cluster.is_initialized()  # a Ray it did not start is left running
    assert remote.encode_passages([]).shape == (0, local.dim)


@pytest.mark.slow
def test_build_and_add_on_ray_equal_local(
    ray_cluster: Any, seed_index: Path, local: Embedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kensaku import Index

    directory = tmp_path / "ray-index"
    code = main(["build", str(ROOT / "corpus"), "--index", str(directory), "--embed-with", "ray", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["findings"] == 280
    assert (directory / "vectors.npy").read_bytes() == (seed_index / "vectors.npy").read_bytes()
    expected, actual = Index.open(seed_index), Index.open(directory)
    assert actual.manifest.model == expected.manifest.model  # the local model is recorded, not Ray
    assert [f.id for f in actual.findings] == [f.id for f in expected.findings]
    for query in QUERIES:
        want = [(h.finding.id, h.score) for h in expected.search(query, 10)]
        assert [(h.finding.id, h.score) for h in actual.search(query, 10)] == want, query

    extra = tmp_path / "追加.txt"
    extra.write_text("■ 追加事業\n地域の交通データを大学と分析し、バスの路線を見直した。\n", encoding="utf-8")
    code = main(["add", str(extra), "--index", str(directory), "--embed-with", "ray", "--format", "json"])
    assert code == 0, capsys.readouterr().err
    added = Index.open(directory)
    new = [(row, f) for row, f in enumerate(added.findings) if f.id not in {f.id for f in expected.findings}]
    assert new, "the add wrote no finding"
    rows = np.array([row for row, _ in new], dtype=np.int64)
    texts = [dense_text(f, added.manifest.build_options) for _, f in new]
    assert np.array_equal(added.bundle.dense.vectors(rows), local.encode_passages(texts))

    rebuilt = added.rebuild(full=True, embed_with="ray")  # every passage embedded again, on Ray
    assert rebuilt.report is not None and rebuilt.report.stats is not None
    assert rebuilt.report.stats.embedded == len(added) and rebuilt.embedder is added.embedder
    assert np.array_equal(
        rebuilt.bundle.dense.vectors(np.arange(len(added))), added.bundle.dense.vectors(np.arange(len(added)))
    )


def test_an_actor_that_cannot_load_its_model_fails_the_call_with_the_reason(
    ray_cluster: Any, local: Embedder, tmp_path: Path
) -> None:
    empty = tmp_path / "no-model"
    empty.mkdir()
    with RayEmbedder(local, "ray", model=str(empty), actors=1) as remote:
        with pytest.raises(RayEmbedError) as caught:
            remote.encode_passages(["住民説明会"])
    assert "a Ray actor failed while embedding" in caught.value.reason and "no-model" in caught.value.reason
    assert "installed on every Ray node" in caught.value.fix
    with RayEmbedder(local, "ray", device="cuda") as remote:  # this cluster has no GPU: refused, not waited for
        with pytest.raises(RayEmbedError, match="the Ray cluster has no GPU"):
            remote.encode_passages(["住民説明会"])


@pytest.mark.parametrize("value", ["Ray", " ray ", "local", "", "ray://head:10001"])
def test_valid_values(value: str) -> None:
    target = parse_embed_with(value)
    assert str(target) in ("ray", "local", "ray://head:10001")
    assert parse_embed_with(target) is target


@pytest.mark.parametrize("value", ["dask", "ray:", "ray://", "ray://head", "ray://head:0", "ray://:10001", "rai"])
def test_bad_values_name_the_value_and_the_forms(value: str) -> None:
    with pytest.raises(EmbedWithError) as caught:
        parse_embed_with(value)
    assert repr(value) in str(caught.value) and "ray://" in caught.value.fix


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_unreachable_cluster_fails_fast_with_the_fix(
    local: Embedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"ray://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(RayEmbedError) as caught:
        RayEmbedder(local, address)
    assert time.monotonic() - started < 2
    assert address in str(caught.value) and "ray start --head" in caught.value.fix
    # An address that accepts connections but does not speak gRPC: the short limit holds (no 30 s client retries).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        quiet = f"ray://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(RayEmbedError, match="does not answer as a Ray client server"):
            RayEmbedder(local, quiet, connect_timeout=1.0)
        assert time.monotonic() - started < 3
    # The command line refuses before reading any document: one line, exit status 2, no index.
    code = main(["build", str(ROOT / "corpus"), "--index", str(tmp_path / "i"), "--embed-with", address])
    err = capsys.readouterr().err
    assert code == 2 and f"kensaku: error: --embed-with {address}: cannot connect" in err
    assert not (tmp_path / "i").exists()
    code = main(["build", str(ROOT / "corpus"), "--index", str(tmp_path / "i"), "--embed-with", "spark"])
    assert code == 2 and "--embed-with 'spark' is not local, ray or ray://HOST:PORT" in capsys.readouterr().err


def test_without_ray_installed_the_fix_is_the_extra(
    local: Embedder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` does where the extra is not installed
    with pytest.raises(RayEmbedError) as caught:
        RayEmbedder(local, EmbedTarget("ray"))
    assert "Ray is not installed" in caught.value.reason and "pip install 'kensaku[ray]'" in caught.value.fix
    code = main(["build", str(ROOT / "corpus"), "--index", str(tmp_path / "i"), "--embed-with", "ray"])
    assert code == 2 and "pip install 'kensaku[ray]'" in capsys.readouterr().err


CLIENT = """
import sys
import numpy as np
from kensaku.index.embed import load_embedder
from kensaku.index.embed_ray import RayEmbedder
texts = [line for line in open(sys.argv[2], encoding="utf-8").read().split("\\n") if line]
with RayEmbedder(load_embedder(), sys.argv[1]) as remote:
    np.save(sys.argv[3], remote.encode_passages(texts))
    print(remote.actors)
"""


def _server_logs(temp: Path) -> str:
    """The tails of the Ray client servers' logs under ``temp`` (why a client server did not start)."""
    found = sorted(temp.glob("session_*/logs/ray_client_server*"))
    return "".join(f"\n--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in found)


@pytest.mark.slow
def test_a_cluster_through_the_ray_client_gives_the_local_vectors(
    local: Embedder, texts: list[str], tmp_path: Path
) -> None:
    """``ray start --head`` (2 CPUs, its own temp folder) and a client process with ``--embed-with ray://…``."""
    texts = texts[:8] + texts[-8:]
    ports = [_closed_port() for _ in range(2)]
    short = tempfile.mkdtemp(prefix="kray", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    env = {**os.environ, **RAY_ENV}
    env.pop("RAY_ADDRESS", None)
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--num-cpus=2",
         f"--port={ports[0]}", f"--ray-client-server-port={ports[1]}", "--node-ip-address=127.0.0.1",
         "--include-dashboard=false", f"--object-store-memory={100 * 1024 * 1024}", "--disable-usage-stats",
         f"--temp-dir={short}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        address = f"ray://127.0.0.1:{ports[1]}"
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", ports[1]), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None and time.monotonic() < deadline, "the Ray head did not start"
                time.sleep(0.3)
        sent = [t.replace("\n", " ") for t in texts]  # one a line
        (tmp_path / "texts.txt").write_text("\n".join(sent), encoding="utf-8")
        child = subprocess.run(
            [sys.executable, "-c", CLIENT, address, str(tmp_path / "texts.txt"), str(tmp_path / "v.npy")],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert child.returncode == 0, child.stderr[-2000:] + _server_logs(Path(short))
        assert child.stdout.split()[-1] == "2"  # one actor per CPU of the cluster
        assert np.array_equal(np.load(tmp_path / "v.npy"), local.encode_passages(sent))
    finally:
        os.killpg(head.pid, signal.SIGKILL)  # the head and every process it started
        head.wait(timeout=30)
        shutil.rmtree(short, ignore_errors=True)
