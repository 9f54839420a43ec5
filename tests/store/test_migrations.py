"""Alembic: upgrade an empty database, autogenerate finds no difference, concurrent upgrades are safe."""

from __future__ import annotations

import threading

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Index, MetaData, String, inspect

from ingestor.store import migrate
from ingestor.store.db import Database
from ingestor.store.models import metadata


def _diff(db: Database, target: MetaData) -> list[object]:
    with db.engine.connect() as conn:
        opts = {"compare_type": True, "compare_server_default": True}
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, target))


def test_upgrade_an_empty_database(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert migrate.current_revision(db) is None
        migrate.upgrade(database_url)
        assert migrate.current_revision(db) == migrate.head_revision()
        tables = set(inspect(db.engine).get_table_names())
        assert set(metadata.tables) <= tables
        migrate.upgrade(database_url)  # idempotent
        assert migrate.current_revision(db) == migrate.head_revision()
    finally:
        db.close()


def test_autogenerate_finds_no_difference(db: Database) -> None:
    assert _diff(db, metadata) == []


def test_autogenerate_would_notice_a_difference(db: Database) -> None:
    """The check above can fail: a changed model shows up as a difference."""
    changed = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["entities"].append_column(Column("extra", String, nullable=True))
    Index("ix_extra", changed.tables["leases"].c.holder)
    kinds = {diff[0] for diff in _diff(db, changed) if isinstance(diff, tuple)}
    assert {"add_column", "add_index"} <= kinds


def test_indexes_for_reverse_lookups_exist(db: Database) -> None:
    indexes = {tuple(ix["column_names"]) for ix in inspect(db.engine).get_indexes("edges")}
    assert ("instance", "profile_key") in indexes
    assert ("instance", "dst_uid") in indexes


def test_concurrent_upgrades_from_several_replicas(database_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def replica() -> None:
        try:
            barrier.wait(5)
            migrate.upgrade(database_url)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=replica, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db = Database(database_url)
    try:
        assert migrate.current_revision(db) == migrate.head_revision()
    finally:
        db.close()


def test_upgrade_accepts_a_database_object(database_url: str) -> None:
    db = Database(database_url)
    try:
        migrate.upgrade(db)
        assert db.ping()  # still usable: upgrade(db) does not close what it did not open
        assert migrate.current_revision(db) == migrate.head_revision()
    finally:
        db.close()


def test_head_is_the_latest_revision() -> None:
    versions = sorted(p.name.split("_", 1)[0] for p in (migrate.MIGRATIONS / "versions").glob("[0-9]*_*.py"))
    assert migrate.head_revision() == versions[-1] == "0003"


def test_downgrade_to_base_removes_everything(db: Database) -> None:
    config = migrate.alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    remaining = set(inspect(db.engine).get_table_names()) & set(metadata.tables)
    assert remaining == set()
