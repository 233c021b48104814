"""One reader per format: bytes → :class:`~kensaku.ingest.models.Document` of markdown-like lines (``base``)."""
