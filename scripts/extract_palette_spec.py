"""Write ingestor/palette/spec/palette-definitions.json from Palette's swagger file.

Build-time tool: imports nothing of ours. Copies, unchanged, the definitions the service validates against
(palette-api.md section 6 and everything they reference) plus the operations it calls (method, path, query
parameters, body and success-response schemas). Output is deterministic so a test can check it is in sync.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "ingestor" / "palette" / "spec" / "palette-definitions.json"
SOURCE = "spectrocloud/palette-sdk-typescript api/palette-apis-spec.json"
LICENSE = "Apache-2.0"

# (method, path) of every Palette operation the service calls (palette-api.md sections 2-4).
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("POST", "/v1/auth/authenticate"),
    ("GET", "/v1/auth/refresh/{token}"),
    ("POST", "/v1/dashboard/projects"),
    ("GET", "/v1/dashboard/projects/metadata"),
    ("GET", "/v1/projects/{uid}"),
    ("GET", "/v1/users/info"),
    ("GET", "/v1/users/{uid}"),
    ("GET", "/v1/users/{uid}/projects"),
    ("POST", "/v1/dashboard/spectroclusters/search"),
    ("GET", "/v1/dashboard/spectroclusters/search/schema"),
    ("GET", "/v1/dashboard/spectroclusters/search/input"),
    ("GET", "/v1/dashboard/spectroclusters/meta"),
    ("GET", "/v1/dashboard/spectroclusters/metadata"),
    ("POST", "/v1/dashboard/spectroclusters/metadata/search"),
    ("GET", "/v1/dashboard/spectroclusters/{uid}"),
    ("GET", "/v1/spectroclusters/{uid}"),
    ("GET", "/v1/spectroclusters/{uid}/assets/kubeconfig"),
    ("GET", "/v1/spectroclusters/{uid}/assets/kubeconfigclient"),
    ("GET", "/v1/spectroclusters/{uid}/assets/adminKubeconfig"),
    ("GET", "/v1/spectroclusters/{uid}/assets/frpKubeconfig"),
    ("GET", "/v1/spectroclusters/{uid}/profiles"),
    ("GET", "/v1/spectroclusters/{uid}/pack/manifests/{manifestUid}"),
    ("POST", "/v1/spectroclusters/eks"),
    ("POST", "/v1/spectroclusters/aws"),
    ("POST", "/v1/spectroclusters/aks"),
    ("POST", "/v1/spectroclusters/azure"),
    ("POST", "/v1/spectroclusters/vsphere"),
    ("POST", "/v1/spectroclusters/virtual"),
    ("POST", "/v1/dashboard/clusterprofiles"),
    ("GET", "/v1/dashboard/clusterprofiles/metadata"),
    ("GET", "/v1/clusterprofiles/{uid}"),
    ("GET", "/v1/clusterprofiles/{uid}/packs"),
    ("GET", "/v1/clusterprofiles/{uid}/variables"),
    ("GET", "/v1/clustergroups/hostCluster"),
    ("GET", "/v1/clustergroups/hostCluster/metadata"),
    ("GET", "/v1/clustergroups/{uid}"),
    ("POST", "/v1/dashboard/clustergroups/{uid}/hostClusters"),
    ("POST", "/v1/dashboard/clustergroups/{uid}/virtualClusters"),
    ("GET", "/v1/cloudaccounts/summary"),
    ("GET", "/v1/cloudaccounts/aws"),
    ("GET", "/v1/cloudaccounts/aws/{uid}"),
    ("GET", "/v1/cloudaccounts/azure"),
    ("GET", "/v1/cloudaccounts/azure/{uid}"),
    ("GET", "/v1/cloudaccounts/vsphere"),
    ("GET", "/v1/cloudaccounts/vsphere/{uid}"),
    ("GET", "/v1/cloudaccounts/vsphere/{uid}/properties/datacenters"),
    ("GET", "/v1/cloudaccounts/vsphere/{uid}/properties/computecluster/resources"),
    ("GET", "/v1/clouds/vsphere/datacenters/{uid}/computeclusters/{computecluster}"),
    ("GET", "/v1/overlords"),
    ("GET", "/v1/overlords/{uid}"),
    ("GET", "/v1/overlords/vsphere/{uid}/pools"),
    ("GET", "/v1/overlords/vsphere/{uid}/properties/datacenters"),
    ("GET", "/v1/overlords/vsphere/{uid}/properties/computecluster/resources"),
    ("GET", "/v1/users/assets/sshkeys"),
    ("POST", "/v1/users/assets/sshkeys"),
    ("GET", "/v1/users/assets/sshkeys/{uid}"),
    ("PUT", "/v1/users/assets/sshkeys/{uid}"),
    ("DELETE", "/v1/users/assets/sshkeys/{uid}"),
)

# Definitions validated by name although no bundled operation references them (palette-api.md 6, 7.1).
EXTRA_DEFINITIONS: tuple[str, ...] = (
    "v1Error",
    "v1UserMe",
    "v1ListMetaData",
    "v1ObjectMeta",
    "v1Time",
    "v1SpectroClusterProfileEntity",
    "v1PackValuesEntity",
    "v1SpectroClusterVariable",
    "v1MachinePoolConfigEntity",
    "v1ClusterConfigEntity",
    "v1HostClusterConfig",
)

# Parameter keys copied into the operations section.
PARAMETER_KEYS = ("in", "name", "required", "type", "maximum", "default")
REF_PREFIX = "#/definitions/"


def default_spec_path() -> Path:
    """PALETTE_OPENAPI if set, else ../shared/palette/palette-openapi.json beside the repository."""
    env = os.environ.get("PALETTE_OPENAPI")
    if env:
        return Path(env)
    return REPO.parent / "shared" / "palette" / "palette-openapi.json"


def _refs(node: Any) -> Iterator[str]:
    """Every definition name referenced anywhere below ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref[len(REF_PREFIX) :]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _parameters(path_item: Mapping[str, Any], operation: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Path-level parameters overridden by operation-level ones (same in + name), sorted."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for param in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        merged[(param["in"], param["name"])] = dict(param)
    out = []
    for param in merged.values():
        entry = {key: param[key] for key in PARAMETER_KEYS if key in param}
        if "schema" in param:
            entry["schema"] = param["schema"]
        out.append(entry)
    return sorted(out, key=lambda p: (p["in"], p["name"]))


def _operation(spec: Mapping[str, Any], method: str, path: str) -> dict[str, Any]:
    path_item = spec["paths"].get(path)
    if path_item is None or method.lower() not in path_item:
        raise KeyError(f"{method} {path} is not in the spec")
    operation = path_item[method.lower()]
    responses = {
        status: response.get("schema")
        for status, response in operation.get("responses", {}).items()
        if status.startswith("2")
    }
    out: dict[str, Any] = {
        "method": method,
        "path": path,
        "operationId": operation.get("operationId"),
        "parameters": _parameters(path_item, operation),
        "responses": responses,
    }
    if "produces" in operation:
        out["produces"] = operation["produces"]
    return out


def closure(definitions: Mapping[str, Any], roots: set[str]) -> dict[str, Any]:
    """The named definitions and every definition they reference, transitively."""
    seen: set[str] = set()
    todo = sorted(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in definitions:
            raise KeyError(f"definition {name!r} is referenced but not defined")
        seen.add(name)
        todo.extend(ref for ref in _refs(definitions[name]) if ref not in seen)
    return {name: definitions[name] for name in sorted(seen)}


def extract(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle: info, the operations we call and the closure of the definitions they need."""
    operations = [_operation(spec, method, path) for method, path in OPERATIONS]
    operations.sort(key=lambda op: (op["path"], op["method"]))
    roots = set(EXTRA_DEFINITIONS) | set(_refs(operations))
    return {
        "info": {
            "title": spec["info"]["title"],
            "version": spec["info"]["version"],
            "source": SOURCE,
            "license": LICENSE,
        },
        "operations": operations,
        "definitions": closure(spec["definitions"], roots),
    }


def render(bundle: Mapping[str, Any]) -> str:
    """Stable text: sorted keys, one-space indent, trailing newline."""
    return json.dumps(bundle, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--spec", type=Path, default=None, help="swagger file (default: PALETTE_OPENAPI or ../shared)"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="bundle to write")
    args = parser.parse_args(argv)
    spec_path: Path = args.spec or default_spec_path()
    if not spec_path.is_file():
        print(f"spec not found: {spec_path} (pass --spec or set PALETTE_OPENAPI)", file=sys.stderr)
        return 2
    bundle = extract(json.loads(spec_path.read_text(encoding="utf-8")))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(bundle), encoding="utf-8")
    counts = f"{len(bundle['operations'])} operations, {len(bundle['definitions'])} definitions"
    print(f"wrote {args.output}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
