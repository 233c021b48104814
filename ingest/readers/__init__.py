"""One reader per file format: bytes in, :class:`~ingest.models.Document` out (see :mod:`ingest.readers.base`)."""
