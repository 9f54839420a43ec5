"""The compose file, the Backstage app-config snippet and the MCP client configurations match the service."""

from __future__ import annotations

import tomllib
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ingestor.api.app import PLUGIN_HEADERS
from ingestor.cli import build_parser
from ingestor.config import load_settings
from tests.deploy import files
from tests.deploy.files import Routes, base_settings, example_env


def _compose() -> dict[str, Any]:
    data = files.document(files.COMPOSE)
    assert isinstance(data, dict)
    return data


def _compose_service_env() -> dict[str, str]:
    """The ingestor container's environment: its env_file (.env from .env.example) plus ``environment``."""
    example = files.env_file(files.ENV_EXAMPLE)
    service = _compose()["services"]["ingestor"]
    environment = {k: files.interpolate(str(v), example) for k, v in service.get("environment", {}).items()}
    return {**example, **environment}


def _service_url() -> tuple[str, int]:
    """The in-cluster host and port of the Service in the example overlay's namespace."""
    service = files.manifest(files.BASE, "Service")
    namespace = files.kustomization(files.OVERLAY)["namespace"]
    [port] = service["spec"]["ports"]
    return f"{service['metadata']['name']}.{namespace}.svc.cluster.local", port["port"]


# --- compose ------------------------------------------------------------------------------------------------


def test_compose_runs_postgres_with_a_volume_and_a_healthcheck() -> None:
    postgres = _compose()["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in _compose()["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    ingestor = _compose()["services"]["ingestor"]
    assert ingestor["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_builds_the_image_and_mounts_the_production_config() -> None:
    ingestor = _compose()["services"]["ingestor"]
    context = (files.COMPOSE.parent / ingestor["build"]["context"]).resolve()
    assert context == files.ROOT
    assert (context / ingestor["build"]["dockerfile"]).resolve() == files.DOCKERFILE
    runtime = files.dockerfile_stages()[1][-1]
    command = files.exec_form(runtime.last("CMD") or "")
    assert ingestor["command"] == command
    mounts = {m.split(":")[1]: m.split(":")[0] for m in ingestor["volumes"]}
    config_path = command[command.index("--config") + 1]
    assert (files.COMPOSE.parent / mounts[config_path]).resolve() == files.BASE / "config.yaml"
    [published] = ingestor["ports"]
    assert (
        int(published.split(":")[-1])
        == load_settings(files.BASE / "config.yaml", _compose_service_env()).server.port
    )
    assert ingestor["read_only"] is True and "/tmp" in ingestor["tmpfs"]


def test_every_variable_is_in_env_example() -> None:
    example = files.env_file(files.ENV_EXAMPLE)
    compose_vars = files.variables(_compose())
    assert compose_vars <= example.keys(), (
        f"compose uses {compose_vars - example.keys()} missing from .env.example"
    )
    config_vars = files.variables(files.document(files.BASE / "config.yaml"))
    provided = _compose_service_env()
    assert config_vars <= provided.keys(), f"the config needs {config_vars - provided.keys()}"
    assert (files.COMPOSE.parent / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == ".env"


def test_config_loads_with_the_compose_env() -> None:
    env = _compose_service_env()
    settings = load_settings(files.BASE / "config.yaml", env=env)
    url = settings.database.url.get_secret_value()
    assert urlsplit(url).hostname == "postgres"  # the compose service name
    assert settings.database.password == files.env_file(files.ENV_EXAMPLE)["POSTGRES_PASSWORD"]
    postgres = _compose()["services"]["postgres"]["environment"]
    assert urlsplit(url).path.lstrip("/") == postgres["POSTGRES_DB"]
    assert urlsplit(url).username == postgres["POSTGRES_USER"]


# --- Backstage ----------------------------------------------------------------------------------------------


def _backstage() -> dict[str, Any]:
    data = files.document(files.BACKSTAGE)
    assert isinstance(data, dict)
    return data


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def test_backstage_locations_read_each_instance_from_the_service(routes: Routes) -> None:
    config = _backstage()
    locations = config["catalog"]["locations"]
    allowed = {entry["host"] for entry in config["backend"]["reading"]["allow"]}
    instances = set()
    for location in locations:
        assert location["type"] == "url"
        target = urlsplit(location["target"])
        assert target.path.startswith("/catalog/") and routes(target.path), target.path
        assert (target.hostname, target.port) == _service_url()
        assert _host_port(location["target"]) in allowed
        instances |= set(parse_qs(target.query)["instance"])
    names = {env.name for env in base_settings(example_env()).spectrocloud.environments}
    assert instances == names  # one location per configured Palette instance


def test_backstage_rules_allow_the_kinds_we_serve() -> None:
    allowed = {kind for rule in _backstage()["catalog"]["rules"] for kind in rule.get("allow", [])}
    assert {"System", "Resource", "Location"} <= allowed


def test_backstage_proxy_forwards_credentials_to_the_plugin_api(routes: Routes) -> None:
    config = _backstage()
    endpoints = config["proxy"]["endpoints"]
    proxy = endpoints["/spectrocloud"]
    assert proxy["credentials"] == "forward"
    target = urlsplit(proxy["target"])
    assert (target.hostname, target.port) == _service_url()
    assert routes(f"{target.path}/health")  # /api/spectrocloud/... are the plugin routes
    headers = {h.lower() for h in proxy["allowedHeaders"]}
    needed = {h.lower() for h in PLUGIN_HEADERS if h != "Content-Type"}
    needed |= {"x-spectrocloud-reauth-required", "content-disposition", "retry-after"}
    assert needed <= headers
    [discovery] = config["discovery"]["endpoints"]
    assert "spectrocloud" in discovery["plugins"]
    # The frontend's calls for plugin "spectrocloud" go to /api/proxy/spectrocloud, the endpoint above.
    assert discovery["target"].endswith("/api/proxy/{{pluginId}}")


# --- MCP ----------------------------------------------------------------------------------------------------


def _servers(data: dict[str, Any]) -> dict[str, Any]:
    servers = data.get("mcpServers") or data.get("servers")
    assert isinstance(servers, dict) and "spectrocloud" in servers
    return servers


def test_mcp_http_clients_reach_the_mcp_route_with_a_bearer_token(routes: Routes) -> None:
    http = []
    for path in sorted(files.MCP.glob("*.json")):
        server = _servers(files.json_file(path))["spectrocloud"]
        if server.get("type") != "http":
            continue
        http.append(path.name)
        url = files.interpolate(server["url"], {})  # ${VAR:-default} forms take their default
        assert urlsplit(url).path == "/mcp" and routes("/mcp", "POST"), path.name
        assert server["headers"]["Authorization"].startswith("Bearer "), path.name
    assert len(http) >= 3


def test_mcp_stdio_client_runs_the_mcp_subcommand() -> None:
    server = _servers(files.json_file(files.MCP / "claude-desktop.json"))["spectrocloud"]
    scripts = tomllib.loads((files.ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert server["command"].rsplit("/", 1)[-1] in scripts
    args = build_parser().parse_args(server["args"])
    assert args.command == "mcp" and args.config


def test_mcp_readme_lists_every_file() -> None:
    readme = (files.MCP / "README.md").read_text(encoding="utf-8")
    for path in files.MCP.glob("*.json"):
        assert f"`{path.name}`" in readme


def test_env_example_secrets_are_fake() -> None:
    env = _compose_service_env()
    secrets = load_settings(files.BASE / "config.yaml", env=env).secret_values()
    holders = [name for name, value in files.env_file(files.ENV_EXAMPLE).items() if value in secrets]
    assert len(holders) >= 4
    assert all("FAKE" in env[name] for name in holders), holders
