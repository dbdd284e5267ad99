"""The one export reader: bytes to a grid of strings (``grid``) and header rows to questions
(``layout``). Survey ingest and JOQ import both read exports through it."""
