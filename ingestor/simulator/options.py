"""Simulator settings (``SimulatorOptions``), their command-line flags and the blocking ``run``.

Small on purpose: the CLI and the demo build options here and hand them to ``app.create_app``.
Imports only ``ingestor.simulator`` modules (lazily for the app) and ``ingestor.errors``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from ingestor.errors import ConfigError
from ingestor.simulator.clock import DEFAULT_ORIGIN, parse_time
from ingestor.simulator.faults_admin import add_fault_arguments, faults_from_args
from ingestor.simulator.faults_spec import Fault

SESSION_TOKEN_CARRIERS = ("refresh_token", "code")  # where /token hands over the HS256 session token


@dataclass(frozen=True)
class SimulatorOptions:
    """What the simulator serves. The defaults make a small demo tenant (docs/simulator.md)."""

    api_key: str = "demo-api-key"
    seed: int = 42
    projects: int = 3
    clusters_per_project: int = 4
    virtual_clusters: int = 2  # per project
    cluster_groups: int = 2  # tenant-scope groups; every 10th project also gets its own group
    profiles: int = 3  # add-on profile families per project (the tenant gets one stack per cloud type)
    profile_versions: int = 3
    tenant_clusters: int = 2  # tenant-scope host clusters shared by the tenant cluster groups
    fixture: Path | None = None
    rate_limits: bool = True
    latency_ms: float = 0.0
    faults: tuple[Fault, ...] = ()  # besides latency_ms, which create_app turns into a LatencyFault
    fault_seed: int = 0
    time_origin: datetime = DEFAULT_ORIGIN
    # Palette's OIDC side (sign in with Palette; docs/simulator.md "OIDC sign-in")
    oidc_client_id: str = "backstage"
    oidc_client_secret: str = "sim-oidc-secret"  # "" = a public client (no secret checked)
    oidc_redirect_uris: tuple[str, ...] = ()  # empty = any http(s) URL
    oidc_default_login: str = "dev1"
    oidc_session_token_in: str = "refresh_token"  # or "code"

    def __post_init__(self) -> None:
        problems = []
        for name in (
            "projects",
            "clusters_per_project",
            "virtual_clusters",
            "cluster_groups",
            "tenant_clusters",
        ):
            if getattr(self, name) < 0:
                problems.append((name, "must not be negative"))
        for name in ("profiles", "profile_versions"):
            if getattr(self, name) < 1:
                problems.append((name, "must be at least 1"))
        if self.latency_ms < 0:
            problems.append(("latency_ms", "must not be negative"))
        if not self.api_key:
            problems.append(("api_key", "must not be empty"))
        problems += _oidc_problems(self)
        if problems:
            raise ConfigError(problems)

    def __repr__(self) -> str:
        """Without the API key: it is a credential, kept out of logs and tracebacks."""
        shape = f"projects={self.projects}, clusters_per_project={self.clusters_per_project}"
        return f"SimulatorOptions(seed={self.seed}, {shape}, fixture={self.fixture}, api_key=***)"


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be a registered redirect URI (absolute http(s), no fragment), or None."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an absolute http(s) URL"
    if parts.fragment:
        return "must not have a fragment"
    return None


def _oidc_problems(options: SimulatorOptions) -> list[tuple[str, str]]:
    problems = []
    if not options.oidc_client_id:
        problems.append(("oidc_client_id", "must not be empty"))
    if options.oidc_session_token_in not in SESSION_TOKEN_CARRIERS:
        problems.append(("oidc_session_token_in", f"must be one of {', '.join(SESSION_TOKEN_CARRIERS)}"))
    for i, uri in enumerate(options.oidc_redirect_uris):
        if (problem := redirect_uri_problem(uri)) is not None:
            problems.append((f"oidc_redirect_uris[{i}]", problem))
    return problems


def _on_off(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("on", "true", "yes", "1"):
        return True
    if lowered in ("off", "false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError("expected on or off")


def _timestamp(value: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected an RFC 3339 timestamp such as 2025-01-01T00:00:00Z"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's flags (host/port, data shape, limits, faults) to ``parser``."""
    d = SimulatorOptions()
    group = parser.add_argument_group("simulator")
    group.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    group.add_argument(
        "--port", type=int, default=8765, help="port to listen on (default 8765; 0 = any free)"
    )
    group.add_argument(
        "--api-key", default=d.api_key, help="the tenant admin's API key (default %(default)s)"
    )
    group.add_argument(
        "--seed", type=int, default=d.seed, help="seed of the generated data (default %(default)s)"
    )
    counts = (
        ("--projects", "projects", "projects"),
        ("--clusters-per-project", "clusters_per_project", "clusters in each project"),
        ("--virtual-clusters", "virtual_clusters", "virtual clusters in each project"),
        ("--cluster-groups", "cluster_groups", "tenant-scope cluster groups"),
        ("--profiles", "profiles", "add-on profile families per project"),
        ("--profile-versions", "profile_versions", "versions of each profile family"),
        ("--tenant-clusters", "tenant_clusters", "tenant-scope (host) clusters"),
    )
    for flag, name, text in counts:
        group.add_argument(flag, type=int, default=getattr(d, name), help=f"{text} (default %(default)s)")
    group.add_argument(
        "--fixture", type=Path, default=None, metavar="FILE", help="serve this JSON fixture instead"
    )
    group.add_argument(
        "--rate-limits",
        type=_on_off,
        default=True,
        metavar="on|off",
        help="answer 429 like Palette (default on)",
    )
    group.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every API call (default 0)"
    )
    group.add_argument(
        "--time-origin",
        type=_timestamp,
        default=d.time_origin,
        help="simulated 'now' at start; all timestamps derive from it (default 2025-01-01T00:00:00Z)",
    )
    add_fault_arguments(parser, include_latency=False)
    _add_oidc_arguments(parser, d)


def _add_oidc_arguments(parser: argparse.ArgumentParser, d: SimulatorOptions) -> None:
    group = parser.add_argument_group("OIDC sign-in (docs/simulator.md)")
    group.add_argument(
        "--oidc-client-id", default=d.oidc_client_id, help="the OIDC client id (default %(default)s)"
    )
    group.add_argument(
        "--oidc-client-secret",
        default=d.oidc_client_secret,
        help="the OIDC client secret; empty = a public client (default: a fixed demo secret)",
    )
    group.add_argument(
        "--oidc-redirect-uri",
        action="append",
        default=None,
        metavar="URL",
        help="an allowed redirect URI (repeatable; default: any http(s) URL)",
    )
    group.add_argument(
        "--oidc-default-login",
        default=d.oidc_default_login,
        help="user signed in when /auth gets no login_hint (default %(default)s)",
    )
    group.add_argument(
        "--oidc-session-token-in",
        choices=SESSION_TOKEN_CARRIERS,
        default=d.oidc_session_token_in,
        help="where the HS256 session token travels (default %(default)s)",
    )


def options_from_args(args: argparse.Namespace) -> SimulatorOptions:
    """Build options from parsed flags (``ConfigError`` names every bad value)."""
    origin = args.time_origin if args.time_origin.tzinfo else args.time_origin.replace(tzinfo=UTC)
    return SimulatorOptions(
        api_key=args.api_key,
        seed=args.seed,
        projects=args.projects,
        clusters_per_project=args.clusters_per_project,
        virtual_clusters=args.virtual_clusters,
        cluster_groups=args.cluster_groups,
        profiles=args.profiles,
        profile_versions=args.profile_versions,
        tenant_clusters=args.tenant_clusters,
        fixture=args.fixture,
        rate_limits=args.rate_limits,
        latency_ms=args.latency_ms,
        # latency_ms travels on its own field; keep faults_from_args from adding it a second time
        faults=tuple(faults_from_args(argparse.Namespace(**{**vars(args), "latency_ms": None}))),
        fault_seed=getattr(args, "fault_seed", 0),
        time_origin=origin,
        oidc_client_id=args.oidc_client_id,
        oidc_client_secret=args.oidc_client_secret,
        oidc_redirect_uris=tuple(args.oidc_redirect_uri or ()),
        oidc_default_login=args.oidc_default_login,
        oidc_session_token_in=args.oidc_session_token_in,
    )


def run(options: SimulatorOptions, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the simulator until interrupted (blocking)."""
    import structlog
    import uvicorn

    from ingestor.simulator.app import create_app

    app = create_app(options)
    structlog.get_logger(__name__).info("simulator listening", url=f"http://{host}:{port}")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
