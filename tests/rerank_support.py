"""A tiny cross-encoder made on the spot, for tests of the reranking wiring (offline: no reranker weights exist here).

:func:`tiny_cross_encoder` writes a 2-layer BERT sequence-classifier with random weights (seeded) and one output, and
a WordPiece vocabulary of every character of the seed corpus (and of any extra texts), so Japanese is tokenized per
character. sentence-transformers' ``CrossEncoder`` loads the folder as it would a downloaded reranker. Its scores are
arbitrary but deterministic: they test that results are put in the cross-encoder's order, not that the order is good.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tests.support import ROOT

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def corpus_characters(extra: Iterable[str] = ()) -> list[str]:
    """Every non-space character of the seed corpus and of ``extra``, sorted."""
    text = (ROOT / "corpus" / "smartcity_model_project_cases.txt").read_text(encoding="utf-8")
    chars = set(text).union(*(set(t) for t in extra))
    return sorted(ch for ch in chars if not ch.isspace())


def tiny_cross_encoder(directory: Path, extra: Iterable[str] = ()) -> Path:
    """Write the tiny cross-encoder into ``directory`` (created) and return it."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    chars = corpus_characters(extra)
    vocab = SPECIAL + chars + [f"##{ch}" for ch in chars]  # a character inside a word is a ##piece in WordPiece
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(
        vocab={token: i for i, token in enumerate(vocab)},
        do_lower_case=False,
        tokenize_chinese_chars=True,
        model_max_length=512,
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=1,
        initializer_range=0.5,  # wide random weights: scores spread out instead of all near 0.5
    )
    model = BertForSequenceClassification(config)
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
