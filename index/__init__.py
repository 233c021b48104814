"""Tokenize, embed, store and search findings: the index half of kensaku."""

__all__ = ["build", "dense", "embed", "evaluate", "export", "hybrid", "search", "sparse", "store", "tokenize"]
