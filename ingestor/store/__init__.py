"""The snapshot store: SQLite by default, PostgreSQL by URL; the single source of truth for crawled data.

``db`` (engine, transactions), ``models`` (tables), ``plan`` (pure change planner), ``writer`` (the one writer
of crawl results), ``queries`` (reads), ``lookups`` (indexed title and reverse-profile look-ups), ``lease``
(crawl lease), ``migrate`` (Alembic upgrades), ``sessions`` (sealed per-user Palette session tokens).
The only importer of SQLAlchemy and Alembic; imports only ``crawl.snapshot`` and ``errors`` of ours.
"""
