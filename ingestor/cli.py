"""Command line entry point: ``ingestor simulate``, ``ingestor demo``, ``ingestor config check``.

The composition root: it builds settings, logging and components and hands them down.
Subcommands import their modules lazily so ``ingestor --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ingestor import __version__
from ingestor.errors import ConfigError


def _cmd_simulate(args: argparse.Namespace) -> int:
    from ingestor.logging import configure_logging
    from ingestor.simulator.options import options_from_args, run

    configure_logging(args.log_level, "auto")
    run(options_from_args(args), args.host, args.port)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ingestor.demo import run_demo
    from ingestor.logging import configure_logging
    from ingestor.simulator.options import options_from_args

    configure_logging(args.log_level, "auto")
    return run_demo(options_from_args(args), keep_running=args.keep_running)


def _cmd_config_check(args: argparse.Namespace) -> int:
    import json

    from ingestor.config import load_settings
    from ingestor.logging import register_secrets

    settings = load_settings(Path(args.config))
    register_secrets(settings.secret_values())
    print(json.dumps(settings.redacted(), indent=2, sort_keys=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    from ingestor.simulator.options import add_arguments as add_simulator_arguments

    parser = argparse.ArgumentParser(
        prog="ingestor", description="SpectroCloud Palette for Backstage and AI agents."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="info", help="debug, info, warning or error (default info)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    simulate = sub.add_parser("simulate", help="run the Palette API simulator")
    add_simulator_arguments(simulate)
    simulate.set_defaults(func=_cmd_simulate)

    demo = sub.add_parser(
        "demo",
        help="start the simulator, crawl it once and print what was found (takes the simulator's flags)",
    )
    add_simulator_arguments(demo)
    demo.add_argument(
        "--keep-running", action="store_true", help="keep the simulator running after the survey"
    )
    demo.set_defaults(func=_cmd_demo)

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser(
        "check", help="validate a configuration file and print it with secrets masked"
    )
    check.add_argument("--config", required=True, help="path to the YAML configuration file")
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
