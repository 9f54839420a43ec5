"""The Kubernetes manifests and the Dockerfile agree with the service: ports, probes, environment, config.

Everything is read from the files under ``deploy/``; the service side comes from the real configuration
loader and the real app's routes. ``kubectl kustomize`` runs only where kubectl is installed.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingestor.config import load_settings, settings_from_dict
from tests.deploy import files
from tests.deploy.files import Routes, base_settings, example_env

SECRET_NAME = "spectrocloud-ingestor-secrets"
CONFIG_NAME = "spectrocloud-ingestor-config"


def _deployment() -> dict[str, Any]:
    return files.manifest(files.BASE, "Deployment")


def _container() -> dict[str, Any]:
    containers = _deployment()["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _runtime() -> files.Stage:
    return files.dockerfile_stages()[1][-1]


def _env_sources() -> dict[str, dict[str, str]]:
    """Container env name -> {"kind": secretKeyRef|configMapKeyRef, "name": ..., "key": ...}."""
    result = {}
    for entry in _container()["env"]:
        source = entry.get("valueFrom", {})
        kinds = [k for k in ("secretKeyRef", "configMapKeyRef") if k in source]
        assert len(kinds) == 1, (
            f"{entry['name']} must come from a Secret or the ConfigMap, not a literal value"
        )
        result[entry["name"]] = {"kind": kinds[0], **source[kinds[0]]}
    return result


def _config_variables() -> set[str]:
    return files.variables(files.document(files.BASE / "config.yaml"))


def _container_port(name: str) -> int:
    ports = {p["name"]: p["containerPort"] for p in _container()["ports"]}
    port: int = ports[name]
    return port


def _config_path() -> str:
    args = _container()["args"]
    path: str = args[args.index("--config") + 1]
    return path


# --- parsing and references -----------------------------------------------------------------------------


def test_every_yaml_and_json_file_parses() -> None:
    yaml_files = sorted([*files.DEPLOY.rglob("*.yaml"), *files.DEPLOY.rglob("*.yml")])
    assert len(yaml_files) >= 10
    for path in yaml_files:
        assert files.documents(path), f"{path} is empty"
    json_files = sorted(files.DEPLOY.rglob("*.json"))
    assert json_files
    for path in json_files:
        assert isinstance(files.json_file(path), dict), path


def test_kustomizations_point_to_existing_files() -> None:
    folders = [p.parent for p in files.DEPLOY.rglob("kustomization.yaml")]
    assert {files.BASE, files.OVERLAY, files.SERVICEMONITOR} <= set(folders)
    for folder in folders:
        data = files.kustomization(folder)
        for entry in [*data.get("resources", []), *data.get("components", [])]:
            target = (folder / entry).resolve()
            assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{folder}: {entry}"
        for section in ("configMapGenerator", "secretGenerator"):
            for gen in data.get(section, []):
                for item in gen.get("files", []):
                    assert (folder / item.split("=", 1)[-1]).is_file(), f"{folder}: {item}"
    component = files.kustomization(files.SERVICEMONITOR)
    assert component["kind"] == "Component"
    assert "../../components/servicemonitor" in files.kustomization(files.OVERLAY)["components"]


# --- ports and paths --------------------------------------------------------------------------------------


def test_one_port_everywhere() -> None:
    """containerPort == Service targetPort == server.port == the image's EXPOSE (and its HEALTHCHECK)."""
    settings = base_settings({**example_env()})
    service = files.manifest(files.BASE, "Service")
    [port] = service["spec"]["ports"]
    target = port["targetPort"]
    target_number = _container_port(target) if isinstance(target, str) else target
    expose = [int(p.split("/")[0]) for p in " ".join(_runtime().all("EXPOSE")).split()]
    healthcheck = re.search(r"http://127\.0\.0\.1:(\d+)/", _runtime().last("HEALTHCHECK") or "")
    assert healthcheck is not None
    assert target_number == settings.server.port == _container_port("http")
    assert expose == [settings.server.port]
    assert int(healthcheck.group(1)) == settings.server.port
    assert port["name"] == "http"


def test_config_listens_on_every_interface() -> None:
    settings = base_settings(example_env())
    assert settings.server.host == "0.0.0.0"  # 127.0.0.1 is unreachable from outside the container
    assert settings.logging.format == "json"
    assert settings.database.url.get_secret_value().startswith("postgresql://")


def test_probe_paths_are_routes_of_the_app(routes: Routes) -> None:
    container = _container()
    probes = {
        name: container[name]["httpGet"] for name in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes["livenessProbe"]["path"] == "/health"
    assert probes["startupProbe"]["path"] == "/health"
    assert probes["readinessProbe"]["path"] == "/ready"
    for name, probe in probes.items():
        assert routes(probe["path"]), f"{name} {probe['path']} is not a route"
        assert probe["port"] == "http"
    healthcheck = re.search(r"http://[^/]+(/[^'\"]*)", _runtime().last("HEALTHCHECK") or "")
    assert healthcheck is not None and routes(healthcheck.group(1))
    assert not routes("/no-such-probe")  # the check can fail


def test_servicemonitor_scrapes_metrics_on_the_service_port() -> None:
    monitor = files.document(files.SERVICEMONITOR / "servicemonitor.yaml")
    service = files.manifest(files.BASE, "Service")
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    labels = service["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_metrics_route_exists(routes: Routes) -> None:
    if not (files.ROOT / "ingestor" / "api" / "metrics.py").exists():
        pytest.skip("GET /metrics is not built yet (ingestor/api/metrics.py)")
    assert routes("/metrics")


# --- environment and configuration -------------------------------------------------------------------------


def test_every_config_variable_comes_from_the_deployment_env() -> None:
    sources = _env_sources()
    variables = _config_variables()
    assert variables, "the configuration references no ${VAR}"
    assert variables <= sources.keys(), f"not in the Deployment's env: {variables - sources.keys()}"
    assert sources.keys() <= variables, f"env the configuration never reads: {sources.keys() - variables}"
    base_literals = files.literals(files.generator(files.BASE, "configMapGenerator", CONFIG_NAME)["literals"])
    overlay_secret = files.literals(
        files.generator(files.OVERLAY, "secretGenerator", SECRET_NAME)["literals"]
    )
    for name, source in sources.items():
        if source["kind"] == "secretKeyRef":
            assert source["name"] == SECRET_NAME and source["key"] in overlay_secret, name
        else:
            assert source["name"] == CONFIG_NAME and source["key"] in base_literals, name


def test_secrets_come_only_from_the_secret() -> None:
    """Every environment value that holds (part of) a secret of the settings is a secretKeyRef."""
    env = example_env()
    secrets = base_settings(env).secret_values()
    assert len(secrets) >= 4  # API key, static token, session key, database password
    sources = _env_sources()
    for name, source in sources.items():
        holds_secret = any(secret in env[name] for secret in secrets)
        assert holds_secret == (source["kind"] == "secretKeyRef"), name
    config_text = (files.BASE / "config.yaml").read_text(encoding="utf-8")
    assert not any(secret in config_text for secret in secrets)


def test_config_loads_with_the_example_values() -> None:
    env = example_env()
    settings = load_settings(files.BASE / "config.yaml", env=env)
    [instance] = settings.spectrocloud.environments
    assert str(instance.url).rstrip("/") == env["PALETTE_URL"].rstrip("/")
    assert instance.api_token.get_secret_value() == env["PALETTE_API_TOKEN"]
    assert settings.auth.sessions.encryption_key is not None
    assert settings.auth.sessions.encryption_key.get_secret_value() == env["SESSION_ENCRYPTION_KEY"]
    assert settings.server.base_url is not None and str(settings.server.base_url).startswith("https://")


def test_config_without_a_secret_does_not_load() -> None:
    env = example_env()
    for name, source in _env_sources().items():
        if source["kind"] != "secretKeyRef":
            continue
        missing = {k: v for k, v in env.items() if k != name}
        with pytest.raises(Exception, match=name):
            load_settings(files.BASE / "config.yaml", env=missing)


def test_config_is_mounted_where_the_image_reads_it() -> None:
    deployment = _deployment()
    path = _config_path()
    mounts = {m["name"]: m for m in _container()["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    config_volume = next(name for name, v in volumes.items() if "configMap" in v)
    assert volumes[config_volume]["configMap"]["name"] == CONFIG_NAME
    [item] = volumes[config_volume]["configMap"]["items"]
    assert item["key"] == "config.yaml"
    assert str(Path(mounts[config_volume]["mountPath"]) / item["path"]) == path
    generated = files.generator(files.BASE, "configMapGenerator", CONFIG_NAME)
    assert "config.yaml" in generated["files"]
    assert files.exec_form(_runtime().last("CMD") or "") == _container()["args"]


# --- security and availability -----------------------------------------------------------------------------


def test_pod_runs_as_the_image_user_with_a_read_only_root() -> None:
    pod = _deployment()["spec"]["template"]["spec"]
    container = _container()
    user = (_runtime().last("USER") or "").split(":")[0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == user != "0"
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
    volume = next(v for v in pod["volumes"] if v["name"] == tmp["name"])
    assert "emptyDir" in volume
    assert pod["automountServiceAccountToken"] is False


def test_replicas_disruption_budget_and_selectors() -> None:
    deployment = _deployment()
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pdb = files.manifest(files.BASE, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = files.manifest(files.BASE, "Service")
    assert service["spec"]["selector"].items() <= labels.items()


def _mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 2**20


def test_memory_covers_the_benchmarked_crawl() -> None:
    """The request covers the crawl's RSS target (bench/README.md: under 300 MB at 10,000 clusters)."""
    bench = (files.ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    target = re.search(r"peak RSS \| `ru_maxrss`[^|]*\| under (\d+) MB", bench)
    assert target is not None, "bench/README.md no longer states the RSS target"
    resources = _container()["resources"]
    target_mib = int(target.group(1)) * 10**6 / 2**20
    assert _mebibytes(resources["requests"]["memory"]) >= target_mib
    assert _mebibytes(resources["limits"]["memory"]) >= 2 * _mebibytes(resources["requests"]["memory"])
    assert "cpu" in resources["requests"]


# --- the example overlay ----------------------------------------------------------------------------------


def test_example_overlay() -> None:
    overlay = files.kustomization(files.OVERLAY)
    assert overlay["namespace"]
    assert overlay["replicas"] == [{"name": "spectrocloud-ingestor", "count": 3}]
    [image] = overlay["images"]
    assert image["name"] == _container()["image"].split(":")[0]
    assert image["newTag"]
    secret = files.literals(files.generator(files.OVERLAY, "secretGenerator", SECRET_NAME)["literals"])
    assert secret and all("FAKE" in value for value in secret.values()), "placeholders must look fake"
    assert files.generator(files.OVERLAY, "configMapGenerator", CONFIG_NAME)["behavior"] == "merge"


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    args, stages = files.dockerfile_stages()
    assert len(stages) == 2
    builder, runtime = stages
    assert builder.base == runtime.base == "python:3.11-slim"
    assert builder.name == "builder"
    user = runtime.last("USER")
    assert user is not None and user.split(":")[0] not in {"0", "root"}
    assert runtime.last("WORKDIR") == "/app"
    env = files.env_instructions(runtime)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONUNBUFFERED"] == "1"
    assert all(copy.from_stage == "builder" for copy in files.copies(runtime))
    scripts = tomllib.loads((files.ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    [entrypoint] = files.exec_form(runtime.last("ENTRYPOINT") or "")
    assert entrypoint in scripts
    assert files.exec_form(runtime.last("CMD") or "")[0] == "serve"
    run_lines = " ".join(runtime.all("RUN"))
    assert not re.search(r"\b(gcc|build-essential|apt-get install|pip install)\b", run_lines)


# --- kubectl kustomize (only where kubectl exists) ----------------------------------------------------------


def _kustomize(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    out = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60, check=True
    )
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def test_kustomize_builds_the_base() -> None:
    kinds = sorted(doc["kind"] for doc in _kustomize(files.BASE))
    assert kinds == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service"]


def test_kustomize_builds_the_overlay_with_consistent_names() -> None:
    docs = _kustomize(files.OVERLAY)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    [namespace] = by_kind["Namespace"]
    [secret] = by_kind["Secret"]
    [config] = by_kind["ConfigMap"]
    [deployment] = by_kind["Deployment"]
    assert "ServiceMonitor" in by_kind
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace["metadata"]["name"], doc["kind"]
    spec = deployment["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert deployment["spec"]["replicas"] == 3
    assert container["image"].startswith("registry.example.com/") and ":" in container["image"]
    for entry in container["env"]:
        ref = entry["valueFrom"].get("secretKeyRef") or entry["valueFrom"]["configMapKeyRef"]
        owner = secret if "secretKeyRef" in entry["valueFrom"] else config
        assert ref["name"] == owner["metadata"]["name"], entry["name"]  # the hashed generator name
        assert ref["key"] in owner["data"], entry["name"]
    volume = next(v for v in spec["volumes"] if "configMap" in v)
    assert volume["configMap"]["name"] == config["metadata"]["name"]
    env = {key: value for key, value in config["data"].items() if key != "config.yaml"}
    env |= {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    settings = settings_from_dict(yaml.safe_load(config["data"]["config.yaml"]), env=env)
    assert settings.server.port == container["ports"][0]["containerPort"]
