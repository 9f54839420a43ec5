"""Backstage-community RBAC policy CSV: parsing (errors name file:line), role resolution, hot reload.

Reads only the policy file; imports nothing of ours but errors and auth.permissions.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import structlog

from ingestor.auth.permissions import PERMISSION_PREFIX, PERMISSIONS_BY_NAME, Permission
from ingestor.errors import ConfigError

log = structlog.get_logger(__name__)

Effect = Literal["allow", "deny"]
_ACTIONS = frozenset({"create", "read", "update", "delete", "use"})
_NAME = r"[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*"
_REF = re.compile(rf"^([A-Za-z]+):({_NAME})/({_NAME})$")
_MAX_NAME = 63


class PolicyFileError(ConfigError):
    """The policy CSV is invalid; each problem is keyed ``file:line``."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Parsed policies for the seven permissions and the subject → role assignments."""

    # (role, permission name) -> effects of the matching ``p`` lines
    rules: dict[tuple[str, str], frozenset[Effect]] = field(default_factory=dict)
    # lower-cased user/group ref -> roles
    members: dict[str, frozenset[str]] = field(default_factory=dict)

    def roles_of(self, principal_refs: Iterable[str]) -> frozenset[str]:
        """Roles held by a caller: roles assigned to any of its refs, plus refs that are roles themselves."""
        roles: set[str] = set()
        for ref in principal_refs:
            if ref.startswith("role:"):
                roles.add(ref)
            roles.update(self.members.get(ref.lower(), ()))
        return frozenset(roles)

    def effects(self, roles: Iterable[str], permission: Permission) -> frozenset[Effect]:
        """Effects of every ``p`` line for one of ``roles`` on ``permission`` (its own action only)."""
        found: set[Effect] = set()
        for role in roles:
            found.update(self.rules.get((role, permission.name), ()))
        return frozenset(found)


def _ref_problem(value: str, kinds: tuple[str, ...]) -> str | None:
    match = _REF.match(value)
    if match is None or any(len(part) > _MAX_NAME for part in match.groups()[1:]):
        return f"{value!r} is not a full entity ref (kind:namespace/name)"
    if match.group(1) not in kinds:
        return f"{value!r} must be a {' or '.join(kinds)} ref"
    return None


def _p_line(fields: list[str], rules: dict[tuple[str, str], set[Effect]]) -> str | None:
    if len(fields) != 5:
        return f"a p line has 5 fields (p, role, permission, action, effect), got {len(fields)}"
    _, role, obj, action, effect = fields
    problem = _ref_problem(role, ("role",))
    if problem:
        return problem
    if not obj or '"' in obj:
        return f"invalid permission {obj!r}"
    if action not in _ACTIONS:
        return f"unknown action {action!r} (expected one of {', '.join(sorted(_ACTIONS))})"
    if effect not in ("allow", "deny"):
        return f"unknown effect {effect!r} (expected allow or deny)"
    if not obj.startswith(PERMISSION_PREFIX):
        return None  # another plugin's permission or resource type: valid, not ours
    permission = PERMISSIONS_BY_NAME.get(obj)
    if permission is None:
        return f"unknown permission {obj!r} (known: {', '.join(PERMISSIONS_BY_NAME)})"
    if action != permission.action:
        return f"{obj} takes action {permission.action!r}, not {action!r}"
    rules.setdefault((role, obj), set()).add("allow" if effect == "allow" else "deny")
    return None


def _g_line(fields: list[str], members: dict[str, set[str]]) -> str | None:
    if len(fields) != 3:
        return f"a g line has 3 fields (g, user or group, role), got {len(fields)}"
    member, role = fields[1].lower(), fields[2]
    if member.startswith("role:"):
        return f"role inheritance ({member} → {role}) is not supported by the RBAC plugin"
    problem = _ref_problem(member, ("user", "group")) or _ref_problem(role, ("role",))
    if problem:
        return problem
    members.setdefault(member, set()).add(role)
    return None


def parse_policy(text: str, source: str) -> Policy:
    """Parse policy CSV text; raise PolicyFileError listing every bad line as ``source:line``."""
    rules: dict[tuple[str, str], set[Effect]] = {}
    members: dict[str, set[str]] = {}
    problems: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [f.strip() for f in next(csv.reader([stripped], skipinitialspace=True))]
        if fields[0] == "p":
            problem = _p_line(fields, rules)
        elif fields[0] == "g":
            problem = _g_line(fields, members)
        else:
            problem = f"unknown line type {fields[0]!r} (expected p or g)"
        if problem:
            problems.append((f"{source}:{number}", problem))
    if problems:
        raise PolicyFileError(problems)
    return Policy(
        rules={key: frozenset(value) for key, value in rules.items()},
        members={key: frozenset(value) for key, value in members.items()},
    )


class PolicyFile:
    """A policy file that reloads itself when its content changes, keeping the last good policy."""

    def __init__(
        self, path: Path, *, check_interval: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._path = path
        self._interval = check_interval
        self._clock = clock
        self._stat: tuple[int, int] | None = None
        self._digest = b""
        self._unreadable = False
        self._checked_at = clock()
        self._policy = self._load_initial()

    def _read(self) -> tuple[tuple[int, int], bytes]:
        stat = os.stat(self._path)
        return (stat.st_mtime_ns, stat.st_size), self._path.read_bytes()

    def _load_initial(self) -> Policy:
        try:
            self._stat, content = self._read()
        except OSError as exc:
            raise PolicyFileError([(str(self._path), f"cannot read policy file ({exc.strerror})")]) from exc
        self._digest = hashlib.sha256(content).digest()
        policy = parse_policy(content.decode("utf-8", errors="replace"), str(self._path))
        log.info("rbac_policy_loaded", path=str(self._path), rules=len(policy.rules))
        return policy

    def current(self) -> Policy:
        """The policy in force, reloading first if the file changed since the last check."""
        now = self._clock()
        if now - self._checked_at >= self._interval:
            self._checked_at = now
            self._maybe_reload()
        return self._policy

    def _maybe_reload(self) -> None:
        try:
            stat = os.stat(self._path)
            self._unreadable = False
            if (stat.st_mtime_ns, stat.st_size) == self._stat:
                return
            self._stat, content = self._read()
        except OSError as exc:
            if not self._unreadable:  # report once until the file is back
                log.warning("rbac_policy_unreadable_kept_previous", path=str(self._path), error=exc.strerror)
            self._unreadable = True
            return
        digest = hashlib.sha256(content).digest()
        if digest == self._digest:
            return
        self._digest = digest
        try:
            self._policy = parse_policy(content.decode("utf-8", errors="replace"), str(self._path))
        except PolicyFileError as exc:
            log.error("rbac_policy_invalid_kept_previous", path=str(self._path), problems=exc.problems)
            return
        log.info("rbac_policy_reloaded", path=str(self._path), rules=len(self._policy.rules))
