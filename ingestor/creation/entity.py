"""Full Palette creation entities: repaired (compat F5) and validated before anything is sent.

``normalise`` fixes what the stock wizard sends: ``machinePoolConfig`` → ``machinepoolconfig``, an empty
IP-pool uid dropped and the static-IP flags made to agree with it, the non-Palette ``cloudConfig.network``
and empty ``clusterConfig``/``policies`` dropped, ``variables`` given as a mapping turned into Palette's list.
``problems`` checks the result against Palette's own definition (``palette/spec``) and the rules the schema
cannot express (a name, profiles, pools, one control plane where the cloud needs one).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ingestor.creation.problems import Problem
from ingestor.creation.requests import MANAGED, NAME_PATTERN, UID_PATTERN
from ingestor.palette.schema import CREATE_DEFINITIONS, SpecValidator

Entity = dict[str, Any]
DEFINITIONS = CREATE_DEFINITIONS
_INDEX = re.compile(r"\.(\d+)(?=\.|$)")
_REQUIRED = re.compile(r"'([A-Za-z0-9_.-]+)' is a required property")


def _object(value: Any) -> Entity:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """``value`` when it is a list; anything else is the schema's to report."""
    return value if isinstance(value, list) else []


def normalise(entity: Entity) -> tuple[Entity, list[Problem]]:
    """A repaired deep copy of ``entity`` and the problems repair could not settle."""
    fixed = copy.deepcopy(entity)
    spec = fixed.get("spec")
    if not isinstance(spec, dict):
        return fixed, []
    problems: list[Problem] = []
    if "machinePoolConfig" in spec:
        if "machinepoolconfig" in spec:
            problems.append(
                Problem("spec.machinePoolConfig", "given twice (machinePoolConfig and machinepoolconfig)")
            )
        else:
            spec["machinepoolconfig"] = spec.pop("machinePoolConfig")
    static_pools = False
    for pool in _list(spec.get("machinepoolconfig")):
        for placement in _list(_object(_object(pool).get("cloudConfig")).get("placements")):
            network = _object(placement).get("network")
            if isinstance(network, dict):
                if network.get("parentPoolUid") in ("", None):
                    network.pop("parentPoolUid", None)
                network["staticIp"] = bool(network.get("parentPoolUid"))
                static_pools = static_pools or network["staticIp"]
    cloud = spec.get("cloudConfig")
    if isinstance(cloud, dict) and "placement" in cloud:  # vSphere
        cloud.pop("network", None)
        cloud["staticIp"] = static_pools
    for key in ("clusterConfig", "policies"):
        if spec.get(key) == {}:
            del spec[key]
    for profile in _list(spec.get("profiles")):
        if isinstance(profile, dict) and isinstance(profile.get("variables"), dict):
            profile["variables"] = [
                {"name": str(name), "value": _text(value)} for name, value in profile["variables"].items()
            ]
    return fixed, problems


def _text(value: Any) -> Any:
    """A scalar as Palette's string; anything else unchanged, so the schema reports it."""
    if isinstance(value, dict | list):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def problems(kind: str, entity: Entity, validator: SpecValidator, prefix: str = "") -> list[Problem]:
    """Everything Palette would refuse in ``entity`` for ``POST /v1/spectroclusters/<kind>``."""
    found = [_schema_problem(line, prefix) for line in validator.errors(DEFINITIONS[kind], entity)]
    found += [Problem(prefix + p.field, p.message) for p in _rules(kind, entity)]
    return sorted(set(found))


def _schema_problem(line: str, prefix: str) -> Problem:
    where, _, message = line.partition(": ")
    where = "" if where in ("$", "(root)") else _INDEX.sub(r"[\1]", where)
    missing = _REQUIRED.fullmatch(message)
    if missing:  # name the missing field itself, not its parent
        where, message = f"{where}.{missing.group(1)}" if where else missing.group(1), "is required"
    field = f"{prefix}{where}" if where else (prefix.rstrip(".") or "(body)")
    return Problem(field, message)


def _rules(kind: str, entity: Entity) -> list[Problem]:
    out: list[Problem] = []
    name = _object(entity.get("metadata")).get("name")
    if not isinstance(name, str) or not name:
        out.append(Problem("metadata.name", "is required"))
    elif not re.fullmatch(NAME_PATTERN, name):
        out.append(Problem("metadata.name", "must be lower-case letters, digits and '-', at most 63"))
    if entity.get("spec") is None:  # no creation definition requires it, Palette does
        out.append(Problem("spec", "is required"))
        return out
    spec = _object(entity.get("spec"))
    if not spec:
        return out  # not an object, or empty: the schema reports it
    pools = spec.get("machinepoolconfig")
    if not isinstance(pools, list) or not pools:
        out.append(Problem("spec.machinepoolconfig", "at least one machine pool is required"))
        pools = []
    listed = spec.get("profiles")
    profiles: list[Any] = listed if isinstance(listed, list) else []
    for index, profile in enumerate(profiles):
        uid = _object(profile).get("uid")
        if not isinstance(uid, str) or not re.fullmatch(UID_PATTERN, uid):
            out.append(Problem(f"spec.profiles[{index}].uid", "must be a profile version uid"))
    if kind == "virtual":
        host = _object(_object(spec.get("clusterConfig")).get("hostClusterConfig"))
        group = _object(host.get("clusterGroup")).get("uid")
        cluster = _object(host.get("hostCluster")).get("uid")
        if not group and not cluster:
            out.append(Problem("spec.clusterConfig.hostClusterConfig.clusterGroup.uid", "is required"))
        for label, uid in (("clusterGroup", group), ("hostCluster", cluster)):
            if uid and (not isinstance(uid, str) or not re.fullmatch(UID_PATTERN, uid)):
                out.append(Problem(f"spec.clusterConfig.hostClusterConfig.{label}.uid", "is not a valid uid"))
        return out
    account = spec.get("cloudAccountUid")
    if not isinstance(account, str) or not re.fullmatch(UID_PATTERN, account):
        out.append(Problem("spec.cloudAccountUid", "is required (a cloud account uid)"))
    if not profiles:
        out.append(Problem("spec.profiles", "at least one cluster profile is required"))
    planes = 0
    for index, pool in enumerate(pools):
        config = _object(pool).get("poolConfig")
        if not isinstance(config, dict):
            out.append(
                Problem(f"spec.machinepoolconfig[{index}].poolConfig", "is required (name, size, labels)")
            )
            continue
        planes += config.get("isControlPlane") is True
    if kind in MANAGED and planes:
        out.append(
            Problem(
                "spec.machinepoolconfig", f"{kind} has a managed control plane: no pool is isControlPlane"
            )
        )
    if kind not in MANAGED and pools and planes != 1:
        out.append(
            Problem(
                "spec.machinepoolconfig", f"{kind} needs exactly one pool with isControlPlane; found {planes}"
            )
        )
    return out
