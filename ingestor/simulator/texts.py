"""Synthetic texts the simulator serves: kubeconfig downloads and pack manifests.

Obviously fake (``*.example.com`` servers, ``sim-`` tokens), deterministic per cluster and variant.
Imports nothing of ours.
"""

from __future__ import annotations

import hashlib
from typing import Any


def kubeconfig_yaml(cluster: dict[str, Any], variant: str) -> str:
    """A syntactically valid, obviously fake kubeconfig for one cluster and download variant."""
    name = cluster["metadata"]["name"]
    endpoints = (cluster.get("status") or {}).get("apiEndpoints") or [
        {"host": f"{name}.k8s.example.com", "port": 6443}
    ]
    server = f"https://{endpoints[0]['host']}:{endpoints[0]['port']}"
    if variant in ("kubeconfig", "frpKubeconfig"):
        server = f"https://proxy.example.com/v1/clusters/{cluster['metadata']['uid']}"
    user = "admin" if variant == "adminKubeconfig" else "oidc-user"
    token = hashlib.sha256(f"{cluster['metadata']['uid']}:{variant}".encode()).hexdigest()
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {name}\n  cluster:\n    server: {server}\n"
        "    certificate-authority-data: U0lNVUxBVE9SLUNB\n"
        f"contexts:\n- name: {user}@{name}\n  context:\n    cluster: {name}\n    user: {user}\n"
        f"current-context: {user}@{name}\n"
        f"users:\n- name: {user}\n  user:\n    token: sim-{token}\n"
    )


def manifest_content(name: str, uid: str) -> str:
    """Synthetic manifest YAML for a pack manifest the dataset has no explicit content for."""
    return (
        "apiVersion: v1\nkind: ConfigMap\n"
        f"metadata:\n  name: {name}\n  namespace: default\n"
        f'data:\n  manifestUid: "{uid}"\n  managedBy: palette-simulator\n'
    )
