"""The app loads its model on the device of the settings (``$KENSAKU_DEVICE``), like the command line's
``--device``: the app in-process (AppTest) on the seed index built with the bundled model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import onnxruntime as ort
import pytest
from streamlit.testing.v1 import AppTest

from kensaku.app import loader
from kensaku.index.embed import Embedder
from kensaku.index.embed_onnx import CUDA_PROVIDER
from tests.e2e.test_app import APP, cards, search

HAS_CUDA_PROVIDER = CUDA_PROVIDER in ort.get_available_providers()


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """AppTest runs in this process: forget the models and indexes other tests loaded, before and after."""
    loader._embedder.clear()
    loader.clear()
    yield
    loader._embedder.clear()
    loader.clear()


def open_app(monkeypatch: pytest.MonkeyPatch, index: Path, device: str) -> AppTest:
    monkeypatch.setenv("KENSAKU_INDEX", str(index))
    monkeypatch.setenv("KENSAKU_DEVICE", device)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def test_the_model_is_loaded_on_the_device_of_the_settings(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    """The loader is handed the device; the model itself is loaded on the CPU (this machine may have no GPU)."""
    asked: list[tuple[str, str]] = []
    real = loader.load_embedder

    def recording(name: str, *, show_progress: bool = False, device: str = "cpu") -> Embedder:
        asked.append((name, device))
        return real(name, show_progress=show_progress)

    monkeypatch.setattr(loader, "load_embedder", recording)
    at = open_app(monkeypatch, seed_index, " CUDA:0 ")
    search(at, "フェローの契約形態は")
    assert cards(at)
    assert asked == [("e5-small-int8", "cuda:0")]  # once per process and device, as $KENSAKU_DEVICE says


@pytest.mark.skipif(HAS_CUDA_PROVIDER, reason="this machine has onnxruntime's CUDA provider")
def test_a_device_the_install_cannot_use_is_said_in_japanese(monkeypatch: pytest.MonkeyPatch, seed_index: Path) -> None:
    at = open_app(monkeypatch, seed_index, "cuda")
    assert not at.text_input  # no search box on an index without its model: the page says why instead
    errors = [e.value for e in at.error]
    assert errors and "検索に使うモデルを読み込めませんでした" in errors[0]
    details = [m.value for e in at.expander if e.label == "詳細（原文）" for m in e.markdown]
    assert any("cuda" in d and "onnxruntime" in d for d in details)
