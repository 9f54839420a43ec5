"""Alembic: upgrade an empty database, autogenerate finds no difference, concurrent upgrades are safe."""

from __future__ import annotations

import json
import threading

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Index, MetaData, String, inspect, text

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
    assert migrate.head_revision() == versions[-1] == "0005"


def test_downgrade_to_base_removes_everything(db: Database) -> None:
    config = migrate.alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    remaining = set(inspect(db.engine).get_table_names()) & set(metadata.tables)
    assert remaining == set()


def test_0004_backfills_titles_of_stored_entities(database_url: str) -> None:
    """An existing store keeps its entities: the upgrade derives title and title_key from each body."""
    db = Database(database_url)
    try:
        config = migrate.alembic_config()
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0003")
        now = "2026-12-01 00:00:00"
        with db.engine.begin() as conn:
            for name, body in (
                ("c1", {"metadata": {"name": "c1", "title": "Big Cluster"}}),
                ("c2", {"metadata": {"name": "c2"}}),
                ("c3", {"metadata": {"name": "c3", "title": "  "}}),
            ):
                conn.execute(
                    text(
                        "INSERT INTO entities (instance, ref, name, kind, palette_kind, key,"
                        " project_uid, part_scope, part_kind, body, content_hash, first_seen, last_seen,"
                        " changed_at, run_id)"
                        " VALUES ('prod', :ref, :name, 'Resource', 'cluster', :name, 'p1', 'p1', 'clusters',"
                        " :body, 'h', :now, :now, :now, 1)"
                    ),
                    {"ref": f"resource:default/{name}", "name": name, "body": json.dumps(body), "now": now},
                )
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT name, title, title_key FROM entities ORDER BY name")).all()
        assert [tuple(r) for r in rows] == [
            ("c1", "Big Cluster", "big cluster"),
            ("c2", "c2", "c2"),
            ("c3", "c3", "c3"),
        ]
    finally:
        db.close()
