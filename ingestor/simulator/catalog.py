"""Static ingredients of generated tenants: packs per cloud type, add-on packs, names, regions.

Pure data; imports only ``simulator.records``.
"""

from __future__ import annotations

from ingestor.simulator.records import JSON, pack_ref, stable_uid, variable

CLOUD_TYPES = ("eks", "aws", "aks", "azure", "vsphere", "edge-native")
# Relative weights of cloud types among generated project clusters.
CLOUD_WEIGHTS = (5, 3, 4, 2, 4, 1)
REGIONS_BY_CLOUD: dict[str, tuple[str, ...]] = {
    "eks": ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"),
    "aws": ("us-east-1", "eu-west-1"),
    "aks": ("eastus", "westeurope"),
    "azure": ("eastus", "westeurope"),
    "vsphere": ("dc1",),
    "edge-native": ("store-042",),
}
ACCOUNT_TYPE_BY_CLOUD = {"eks": "aws", "aws": "aws", "aks": "azure", "azure": "azure", "vsphere": "vsphere"}
K8S_VERSIONS = ("1.29.10", "1.30.6", "1.31.4", "1.32.2")

# cloud type -> (os, k8s, cni, csi) pack names
STACKS: dict[str, tuple[str, str, str, str]] = {
    "eks": ("amazon-linux-eks", "kubernetes-eks", "cni-aws-vpc-eks", "csi-aws-ebs"),
    "aws": ("ubuntu-aws", "kubernetes", "cni-calico", "csi-aws-ebs"),
    "aks": ("ubuntu-aks", "kubernetes-aks", "cni-kubenet", "csi-azure"),
    "azure": ("ubuntu-azure", "kubernetes", "cni-calico-azure", "csi-azure"),
    "vsphere": ("ubuntu-vsphere", "kubernetes", "cni-cilium-oss", "csi-vsphere-csi"),
    "edge-native": ("edge-native-byoi", "edge-k8s", "cni-calico", "csi-rook-ceph"),
}
STACK_TAGS = ("22.04", None, "3.28.2", "1.10.0")  # None = the profile version's Kubernetes version

# add-on family name -> (packs: (name, type, tag, namespace), has manifest)
ADDONS: dict[str, tuple[tuple[tuple[str, str, str, str], ...], bool]] = {
    "observability": (
        (("prometheus-operator", "helm", "65.1.0", "monitoring"), ("fluentbit", "helm", "3.1.9", "logging")),
        False,
    ),
    "security-baseline": (
        (("kyverno", "helm", "3.2.6", "kyverno"), ("namespace-policies", "manifest", "1.0.0", "default")),
        True,
    ),
    "ingress": (
        (("nginx", "helm", "4.11.3", "ingress-nginx"), ("cert-manager", "helm", "1.16.1", "cert-manager")),
        False,
    ),
    "gitops": ((("argo-cd", "helm", "7.6.12", "argocd"),), False),
    "secrets": (
        (("vault", "helm", "0.28.1", "vault"), ("external-secrets", "helm", "0.10.4", "external-secrets")),
        False,
    ),
    "backup": (
        (("velero", "helm", "7.2.1", "velero"), ("backup-schedules", "manifest", "1.0.0", "velero")),
        True,
    ),
}
ADDON_NAMES = tuple(ADDONS)

PROJECT_NAMES = (
    "platform",
    "payments",
    "data-science",
    "mobile",
    "web-store",
    "ml-ops",
    "identity",
    "search",
    "analytics",
    "edge-retail",
    "logistics",
    "media",
)
APPS = ("api", "web", "batch", "etl", "ml", "core", "cache", "gateway", "ops", "stream")
ENVIRONMENTS = ("prod", "staging", "dev", "qa")
REGISTRY_UID = stable_uid("registry", "palette-public")


def _values(name: str, namespace: str, extra: str = "") -> str:
    return f"pack:\n  namespace: {namespace}\n  releaseName: {name}\n{extra}"


def stack_packs(cloud: str, k8s: str) -> list[JSON]:
    """The os/k8s/cni/csi layers of a full-stack profile for one cloud type."""
    names = STACKS[cloud]
    packs = []
    for layer, name, tag in zip(("os", "k8s", "cni", "csi"), names, STACK_TAGS, strict=True):
        extra = (
            'kubeadmconfig:\n  apiServer:\n    extraArgs:\n      secure-port: "6443"\n'
            if layer == "k8s"
            else ""
        )
        packs.append(
            pack_ref(
                name, layer, tag or k8s, values=_values(name, "kube-system", extra), registry_uid=REGISTRY_UID
            )
        )
    return packs


def addon_packs(family: str, version_index: int, profile_uid: str) -> list[JSON]:
    """The packs of one add-on family at one version; manifest packs get per-version manifest uids."""
    specs, _ = ADDONS[family]
    packs = []
    for name, ptype, tag, namespace in specs:
        major, minor, patch = (tag.split(".") + ["0", "0"])[:3]
        version_tag = f"{major}.{minor}.{int(patch) + version_index}"
        manifests = []
        if ptype == "manifest":
            manifests = [
                {
                    "uid": stable_uid("manifest", profile_uid, name, m),
                    "name": f"{name}-{m}",
                    "kind": "Manifest",
                }
                for m in ("main", "rbac")
            ]
        packs.append(
            pack_ref(
                name,
                "addon",
                version_tag,
                pack_type=ptype,
                values=_values(name, namespace),
                manifests=manifests,
                registry_uid="" if ptype == "manifest" else REGISTRY_UID,
            )
        )
    return packs


def stack_variables() -> list[JSON]:
    return [
        variable("pod_cidr", "192.168.0.0/16", fmt="ipv4cidr", description="Pod network CIDR", required=True),
        variable(
            "service_cidr", "10.96.0.0/12", fmt="ipv4cidr", description="Service network CIDR", immutable=True
        ),
    ]


def addon_variables(family: str) -> list[JSON]:
    namespace = ADDONS[family][0][0][3]
    replicas = variable("replicas", "2", fmt="number", description="Replicas of the main workload")
    level = variable("log_level", "info", description="Log verbosity")
    level["inputType"] = "dropdown"
    level["options"] = [
        {"value": v, "label": v.title(), "description": "", "default": v == "info"}
        for v in ("debug", "info", "warn")
    ]
    return [variable("namespace", namespace, description="Target namespace", required=True), replicas, level]
