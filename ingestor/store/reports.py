"""What the store knows about one instance's crawling, read in one go: for the status page and the console.

``read_instance`` gathers the state, recent runs, part states, held removals, project names, the lease
holder and the last full crawl; ``latest_outcomes`` lays later project crawls' outcomes over the last full's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestor.store import lease, queries
from ingestor.store.db import Database
from ingestor.store.rows import HeldRow, InstanceState, PartOutcomeRow, PartStateRow, RunRow
from ingestor.store.writer import FULL_TRIGGERS

RECENT_RUNS = 10


@dataclass(frozen=True)
class InstanceRecord:
    """What the store knows about one instance, read on the store's thread."""

    state: InstanceState | None
    runs: list[RunRow]
    parts: list[PartStateRow]
    held: list[HeldRow]
    project_names: dict[str, str]
    lease_holder: str | None
    last_full: RunRow | None = None


def read_instance(db: Database, instance: str, lease_key: str, *, runs: int = RECENT_RUNS) -> InstanceRecord:
    """Every read the status of ``instance`` needs (sync; ``db.run`` it); ``lease_key`` names its lease."""
    names = {}
    for row in queries.current_entities(db, instance, palette_kind="project").entities:
        meta = row.body.get("metadata", {})
        names[row.key] = str(meta.get("title") or meta.get("name") or row.name)
    return InstanceRecord(
        state=queries.instance_state(db, instance),
        runs=queries.recent_runs(db, instance, limit=runs),
        parts=queries.part_states(db, instance),
        held=queries.held_removals(db, instance),
        project_names=names,
        lease_holder=lease.holder_of(db, lease_key),
        last_full=queries.last_run(db, instance, triggers=FULL_TRIGGERS),
    )


def latest_outcomes(record: InstanceRecord) -> dict[tuple[str, str], PartOutcomeRow]:
    """Each part's latest outcome: the last full crawl's, with later project crawls' laid over them."""
    latest: dict[tuple[str, str], PartOutcomeRow] = {}
    base = [record.last_full] if record.last_full is not None else []
    later = [run for run in reversed(record.runs) if not base or run.id > base[0].id]
    for run in base + later:  # oldest first: a later outcome of a part replaces an earlier one
        for outcome in run.outcomes:
            latest[(outcome.scope, outcome.kind)] = outcome
    return latest
