"""Rules that span several keys, run on the raw (substituted) tree so they report beside type errors.

Tolerant of wrong types: whatever pydantic will reject anyway is skipped here.
Foundation layer: imports nothing of ours. Messages show instance and project names, never secrets.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from ingestor.config.introspect import Loc

Problem = tuple[Loc, str]
_BOOL: TypeAdapter[bool] = TypeAdapter(bool)


def cross_checks(raw: dict[str, Any]) -> list[Problem]:
    """Every cross-key problem in the raw configuration."""
    problems: list[Problem] = []
    spectro = raw.get("spectrocloud")
    spectro = spectro if isinstance(spectro, dict) else {}
    problems += _environments(spectro)
    problems += _callbacks(spectro, raw.get("server"))
    auth = raw.get("auth")
    auth = auth if isinstance(auth, dict) else {}
    problems += _static_tokens(auth)
    if _truthy(spectro.get("enablePermissions"), False):
        problems += _permission_source(auth)
    return problems


def _permission_source(auth: dict[str, Any]) -> list[Problem]:
    """With permissions on, decisions need a policy file (mode ``file``) or Backstage (mode ``backstage``)."""
    rbac = auth.get("rbac")
    rbac = rbac if isinstance(rbac, dict) else {}
    backstage = auth.get("backstage")
    backstage = backstage if isinstance(backstage, dict) else {}
    mode = rbac.get("mode") or "file"
    if mode == "file" and not rbac.get("policyFile"):
        return [
            (
                ("auth", "rbac", "policyFile"),
                "is required when spectrocloud.enablePermissions is true "
                "(or set auth.rbac.mode: backstage to ask Backstage's permission backend)",
            )
        ]
    if mode == "backstage" and not backstage.get("baseUrl"):
        return [(("auth", "backstage", "baseUrl"), "is required when auth.rbac.mode is backstage")]
    return []


def _truthy(value: Any, default: bool) -> bool:
    if value is None:
        return default
    try:
        return _BOOL.validate_python(value)
    except ValidationError:
        return default


def _environments(spectro: dict[str, Any]) -> list[Problem]:
    base: Loc = ("spectrocloud", "environments")
    envs = spectro.get("environments")
    if envs is None or envs == []:
        if _truthy(spectro.get("enabled"), True):
            return [(base, "at least one environment is required (or set spectrocloud.enabled: false)")]
        return []
    if not isinstance(envs, list):
        return []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, env in enumerate(envs):
        if not isinstance(env, dict):
            continue
        name = env.get("name")
        if name is None or name == "":
            if len(envs) > 1:
                message = "required when more than one environment is configured"
                problems.append(((*base, index, "name"), message))
        elif isinstance(name, str | int):
            folded = str(name).lower()
            if folded in seen:
                problems.append(
                    (
                        (*base, index, "name"),
                        f"duplicate name '{name}' (names are unique, ignoring case; "
                        f"first used by spectrocloud.environments[{seen[folded]}])",
                    )
                )
            else:
                seen[folded] = index
        problems += _project_overlap(env.get("catalogProvider"), (*base, index, "catalogProvider"))
    return problems


def _callbacks(spectro: dict[str, Any], server: Any) -> list[Problem]:
    """Palette sign-in needs a callback URL: ``oidc.callbackUrl``, or one derived from ``server.baseUrl``."""
    envs = spectro.get("environments")
    if not isinstance(envs, list) or (isinstance(server, dict) and server.get("baseUrl")):
        return []
    problems: list[Problem] = []
    for index, env in enumerate(envs):
        oidc = env.get("oidc") if isinstance(env, dict) else None
        if isinstance(oidc, dict) and not oidc.get("callbackUrl"):
            problems.append(
                (
                    ("spectrocloud", "environments", index, "oidc", "callbackUrl"),
                    "is required when server.baseUrl is not set "
                    "(the URL Palette redirects to: <base>/api/auth/spectrocloud/handler/frame)",
                )
            )
    return problems


def _project_overlap(provider: Any, loc: Loc) -> list[Problem]:
    if not isinstance(provider, dict):
        return []
    include, exclude = provider.get("includeProjects"), provider.get("excludeProjects")
    if not isinstance(include, list) or not isinstance(exclude, list):
        return []
    included = {str(p).strip() for p in include}
    both = [str(p).strip() for p in exclude if str(p).strip() in included]
    if not both:
        return []
    names = ", ".join(f"'{p}'" for p in dict.fromkeys(both))
    return [((*loc, "excludeProjects"), f"{names} also listed in includeProjects; list each project once")]


def _static_tokens(auth: dict[str, Any]) -> list[Problem]:
    entries = auth.get("externalAccess")
    if not isinstance(entries, list):
        return []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        options = entry.get("options") if isinstance(entry, dict) else None
        token = options.get("token") if isinstance(options, dict) else None
        if not isinstance(token, str) or not token.strip():
            continue
        if token.strip() in seen:
            first = seen[token.strip()]
            problems.append(
                (
                    ("auth", "externalAccess", index, "options", "token"),
                    f"same token as auth.externalAccess[{first}]; each entry needs its own token",
                )
            )
        else:
            seen[token.strip()] = index
    return problems
