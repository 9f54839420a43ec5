"""A `spectrocloud:` block pasted from a Backstage app-config (compat.md 1.1-1.3) loads unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingestor.config import load_settings
from ingestor.errors import ConfigError

from .helpers import TOKEN

PASTED = """
spectrocloud:
  enabled: true
  annotationPrefix: acme.backstage.io
  enablePermissions: true
  environments:
    - name: production
      url: ${SPECTROCLOUD_URL:-https://api.spectrocloud.com/}
      tenant: acme
      apiToken: ${SPECTROCLOUD_API_TOKEN}
      catalogProvider:
        enabled: true
        refreshIntervalSeconds: 300
        defaultOwner: platform-team
        ownerNamespace: user
        includeProjects: [Default, payments]
        excludeProjects: [sandbox]
        excludeTenantScopedResources: true
        resources:
          projects: true
          clusterProfiles: false
          clusters: true
          clusterGroups: false
          virtualClusters: true
      clusterProvider:
        authType: oidc
        oidcAuthProviderName: spectrocloud
        includeProjects: [Default]
        excludeProjects: []
        skipMetricsLookup: true
        excludeTenantScopedClusters: false
        refreshIntervalSeconds: 600
        clusterTimeoutSeconds: 15
        rbac:
          namespace: backstage-system
          serviceAccountName: backstage-sa
          secretName: backstage-sa-token
          clusterRoleName: backstage-read-only
          clusterRoleBindingName: backstage-read-only-binding
          clusterRoleRules:
            - apiGroups: ['*', core]
              resources: ['*']
              verbs: [get, list, watch]
        someFutureKey: ${ONLY_BACKSTAGE_HAS_THIS}
    - name: staging
      url: https://staging.example.com
      tenant: acme-staging
      apiToken: ${STAGING_TOKEN}
"""
# Ours, beside the pasted block: with enablePermissions on, decisions need a source.
AUTH = """
auth:
  rbac:
    mode: backstage
  backstage:
    baseUrl: https://backstage.example.com
"""


def test_pasted_terasky_block_loads(write_yaml: Callable[[str], Path]) -> None:
    env = {"SPECTROCLOUD_API_TOKEN": TOKEN, "STAGING_TOKEN": "staging-token-123"}
    s = load_settings(write_yaml(PASTED + AUTH), env)
    sc = s.spectrocloud
    assert (sc.enabled, sc.annotation_prefix, sc.enable_permissions) == (True, "acme.backstage.io", True)
    prod, staging = sc.environments
    assert (prod.name, prod.url, prod.tenant) == ("production", "https://api.spectrocloud.com", "acme")
    assert prod.api_token.get_secret_value() == TOKEN
    cp = prod.catalog_provider
    assert cp.refresh_interval_seconds == 300
    assert (cp.default_owner, cp.owner_namespace) == ("platform-team", "user")
    assert cp.include_projects == ("Default", "payments") and cp.exclude_projects == ("sandbox",)
    assert cp.exclude_tenant_scoped_resources is True
    r = cp.resources
    assert (r.projects, r.cluster_profiles, r.clusters, r.cluster_groups, r.virtual_clusters) == (
        True,
        False,
        True,
        False,
        True,
    )
    assert staging.api_token.get_secret_value() == "staging-token-123"
    assert staging.catalog_provider.refresh_interval_seconds == 600


def test_cluster_provider_block_is_ignored(write_yaml: Callable[[str], Path]) -> None:
    s = load_settings(write_yaml(PASTED + AUTH), {"SPECTROCLOUD_API_TOKEN": TOKEN, "STAGING_TOKEN": "x" * 12})
    prod = s.spectrocloud.environments[0]
    assert prod.cluster_provider is None
    assert "clusterProvider" not in s.redacted()["spectrocloud"]["environments"][0]
    assert "oidcAuthProviderName" not in repr(s) and "authType" not in repr(s) and prod.oidc is None


def test_url_from_environment_wins_over_the_default(write_yaml: Callable[[str], Path]) -> None:
    env = {
        "SPECTROCLOUD_API_TOKEN": TOKEN,
        "STAGING_TOKEN": "x" * 12,
        "SPECTROCLOUD_URL": "https://eu.example.com",
    }
    assert (
        load_settings(write_yaml(PASTED + AUTH), env).spectrocloud.environments[0].url
        == "https://eu.example.com"
    )


def test_permissions_without_a_decision_source_stop_start_up(write_yaml: Callable[[str], Path]) -> None:
    """enablePermissions: true with no policy file and no Backstage would have nothing to ask: refused."""
    env = {"SPECTROCLOUD_API_TOKEN": TOKEN, "STAGING_TOKEN": "staging-token-123"}
    try:
        load_settings(write_yaml(PASTED), env)
    except ConfigError as exc:
        assert "auth.rbac.policyFile" in str(exc) and TOKEN not in str(exc)
    else:
        raise AssertionError("enablePermissions without a policy source was accepted")
    with_file = PASTED + "auth:\n  rbac:\n    policyFile: /etc/rbac.csv\n"
    assert load_settings(write_yaml(with_file), env).auth.rbac.policy_file is not None
    backstage_mode = PASTED + "auth:\n  rbac:\n    mode: backstage\n"
    try:
        load_settings(write_yaml(backstage_mode), env)
    except ConfigError as exc:
        assert "auth.backstage.baseUrl" in str(exc)
    else:
        raise AssertionError("rbac mode backstage without auth.backstage.baseUrl was accepted")
