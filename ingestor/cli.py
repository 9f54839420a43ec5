"""Command line: ``serve``, ``mcp``, ``crawl``, ``entities``, ``db upgrade``, ``demo``, ``simulate``,
``config check``.

The composition root: it builds settings, logging and components and hands them down.
Subcommands import their modules lazily so ``ingestor --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ingestor import __version__
from ingestor.errors import ConfigError

if TYPE_CHECKING:
    from ingestor.config import Settings
    from ingestor.store.writer import CommitResult


def _settings(args: argparse.Namespace) -> Settings:
    """Load ``--config``, register its secrets for redaction and configure logging (``--log-level`` wins)."""
    from ingestor.config import load_settings
    from ingestor.logging import configure_logging, register_secrets

    settings = load_settings(Path(args.config))
    register_secrets(settings.secret_values())
    configure_logging(args.log_level or settings.logging.level, settings.logging.format)
    return settings


def _cmd_simulate(args: argparse.Namespace) -> int:
    from ingestor.logging import configure_logging
    from ingestor.simulator.options import options_from_args, run

    configure_logging(args.log_level or "info", "auto")
    run(options_from_args(args), args.host, args.port)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ingestor.demo import DemoOptions, run_demo
    from ingestor.logging import configure_logging
    from ingestor.simulator.options import options_from_args

    configure_logging(args.log_level or "warning", "auto")
    simulator = options_from_args(args)
    demo = DemoOptions(host=args.host, port=args.port, folder=Path(args.folder), once=args.once)
    return run_demo(simulator, demo)


def _cmd_config_check(args: argparse.Namespace) -> int:
    import json

    from ingestor.config import load_settings
    from ingestor.logging import register_secrets

    settings = load_settings(Path(args.config))
    register_secrets(settings.secret_values())
    print(json.dumps(settings.redacted(), indent=2, sort_keys=True))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from ingestor.api.server import serve

    return serve(_settings(args))


def _cmd_mcp(args: argparse.Namespace) -> int:
    import asyncio

    from ingestor.mcp.stdio import serve_stdio

    return asyncio.run(serve_stdio(_settings(args)))


def _cmd_crawl(args: argparse.Namespace) -> int:
    import asyncio

    settings = _settings(args)
    if args.once:
        return asyncio.run(_crawl_once(settings, args.instance))
    return asyncio.run(_crawl_forever(settings))


def _summary(instance: str, result: CommitResult | None, skip: str | None) -> str:
    name = instance or "(unnamed)"
    if result is None:
        return f"{name}: skipped ({skip or 'not crawled'})"
    return (
        f"{name}: {result.status} (run {result.run_id}; added {result.added}, modified {result.modified},"
        f" removed {result.removed}, held back {result.held}; snapshot version {result.snapshot_version})"
    )


async def _crawl_once(settings: Settings, only: str | None) -> int:
    """Crawl each enabled instance once (under its lease, so a running service is not crawled twice)."""
    import asyncio

    from ingestor.scheduler import CrawlScheduler, UnknownInstanceError
    from ingestor.store import migrate
    from ingestor.store.db import Database

    db = Database(settings.database.url.get_secret_value(), pool_size=settings.database.pool.size)
    try:
        migrate.upgrade(db)
        scheduler = CrawlScheduler(settings, db)
        try:
            names = [scheduler.environment(only).name or ""] if only is not None else scheduler.instances
        except UnknownInstanceError:
            raise ConfigError([("--instance", f"no enabled instance is named '{only}'")]) from None
        if not names:
            print("ingestor: no enabled instance to crawl", file=sys.stderr)
            return 1
        results = await asyncio.gather(*(scheduler.crawl_now(n) for n in names))
        code = 0
        for name, result in zip(names, results, strict=True):
            print(_summary(name, result, scheduler.last_skip(name)))
            if result is None or result.status == "failed":
                code = 1
        return code
    finally:
        db.close()


async def _crawl_forever(settings: Settings) -> int:
    """A crawl-only worker: the scheduler without the HTTP server, until SIGINT or SIGTERM."""
    import asyncio
    import signal

    from ingestor.scheduler import CrawlScheduler
    from ingestor.store import migrate
    from ingestor.store.db import Database

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    db = Database(settings.database.url.get_secret_value(), pool_size=settings.database.pool.size)
    scheduler = CrawlScheduler(settings, db)
    try:
        migrate.upgrade(db)
        await scheduler.start()
        await stop.wait()
    finally:
        await scheduler.stop()
        db.close()
    return 0


def _cmd_entities(args: argparse.Namespace) -> int:
    """Print the stored entities (no crawl): what ``/catalog/entities.yaml`` serves."""
    from ingestor.api.cache import Filters, select_rows
    from ingestor.catalog.render import render_json, render_yaml
    from ingestor.scheduler import catalog_environments
    from ingestor.store import migrate, queries
    from ingestor.store.db import Database, instance_key

    settings = _settings(args)
    enabled = [instance_key(env.name) for env in catalog_environments(settings)]
    wanted = enabled if args.instance is None else [n for n in enabled if n.lower() == args.instance.lower()]
    if not wanted:
        raise ConfigError([("--instance", f"no enabled instance is named '{args.instance}'")])
    db = Database(settings.database.url.get_secret_value(), pool_size=1)
    try:
        if migrate.current_revision(db) is None:
            print("ingestor: the database is empty; run a crawl first", file=sys.stderr)
            return 1
        states = {s.instance: s for s in queries.instance_states(db)}
        missing = [n for n in wanted if n not in states or not states[n].has_snapshot]
        if missing:
            print(f"ingestor: no snapshot yet for {', '.join(missing)}; run a crawl first", file=sys.stderr)
            return 1
        rows = select_rows(queries.current_entities(db).entities, Filters(tuple(sorted(wanted))))
    finally:
        db.close()
    bodies = [row.body for row in rows]
    sys.stdout.buffer.write(render_yaml(bodies) if args.format == "yaml" else render_json(bodies))
    sys.stdout.flush()
    return 0


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from ingestor.config import Settings
    from ingestor.logging import configure_logging
    from ingestor.store import migrate

    if args.url is not None:
        configure_logging(args.log_level or "info", "auto")
        url = args.url
    else:
        settings = _settings(args) if args.config else Settings()
        url = settings.database.url.get_secret_value()
    migrate.upgrade(url)
    print(f"database at revision {migrate.head_revision()}")
    return 0


def _add_config(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--config", required=required, help="path to the YAML configuration file")


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ingestor.simulator.options import add_arguments as add_simulator_arguments

    demo = sub.add_parser(
        "demo",
        help="simulator + store + scheduler + server in one process; prints URLs and a Backstage snippet",
        conflict_handler="resolve",  # --host/--port below are the ingestor's, not the simulator's
    )
    add_simulator_arguments(demo)
    demo.add_argument(
        "--host", default="127.0.0.1", help="address the ingestor listens on (default 127.0.0.1)"
    )
    demo.add_argument("--port", type=int, default=7007, help="port the ingestor listens on (default 7007)")
    demo.add_argument("--folder", default=".demo", help="folder of the demo's SQLite store (default .demo)")
    demo.add_argument("--once", action="store_true", help="exit after the first crawl instead of serving")
    demo.set_defaults(func=_cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    from ingestor.simulator.options import add_arguments as add_simulator_arguments

    parser = argparse.ArgumentParser(
        prog="ingestor", description="SpectroCloud Palette for Backstage and AI agents."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level", default=None, help="debug, info, warning or error (default: config, info)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the catalog and status API and crawl on schedule")
    _add_config(serve)
    serve.set_defaults(func=_cmd_serve)

    mcp = sub.add_parser("mcp", help="serve the MCP tools over stdio (logs go to stderr)")
    _add_config(mcp)
    mcp.set_defaults(func=_cmd_mcp)

    crawl = sub.add_parser("crawl", help="crawl without serving: once (--once) or on schedule")
    _add_config(crawl)
    crawl.add_argument("--once", action="store_true", help="crawl every enabled instance once and exit")
    crawl.add_argument("--instance", default=None, help="with --once: only this instance")
    crawl.set_defaults(func=_cmd_crawl)

    entities = sub.add_parser("entities", help="print the stored entities (multi-document YAML)")
    _add_config(entities)
    entities.add_argument("--instance", default=None, help="only this instance")
    entities.add_argument("--format", choices=("yaml", "json"), default="yaml", help="yaml (default) or json")
    entities.set_defaults(func=_cmd_entities)

    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="create or upgrade the database schema")
    _add_config(upgrade, required=False)
    upgrade.add_argument("--url", default=None, help="database URL (instead of --config)")
    upgrade.set_defaults(func=_cmd_db_upgrade)

    simulate = sub.add_parser("simulate", help="run the Palette API simulator")
    add_simulator_arguments(simulate)
    simulate.set_defaults(func=_cmd_simulate)

    _add_demo(sub)

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser(
        "check", help="validate a configuration file and print it with secrets masked"
    )
    _add_config(check)
    check.set_defaults(func=_cmd_config_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args))
    except ConfigError as exc:
        print(f"ingestor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
