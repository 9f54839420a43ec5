"""Profile routes: detail (11), search by name (12), a project's profiles (17), the packs of one version
(18) and variables (22). Live Palette calls with the caller's credential; lists page to the end and are
de-duplicated by uid (C2, C3); a version is fetched by its own uid (C4). No SQL, no httpx here.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ingestor.access.inputs import gather_bounded
from ingestor.api.plugin.common import CallerDep, InstanceQuery, ProjectQuery, dedupe_by_uid
from ingestor.api.plugin.context import (
    LiveCall,
    authorize,
    check_cloud_type,
    check_uid,
    open_call,
    single_query,
)
from ingestor.api.plugin.failures import PluginError, bad_request
from ingestor.auth.permissions import VIEW_PACK_VALUES, VIEW_PROFILE_INFO
from ingestor.palette.filters import (
    PROFILE_CLOUD_TYPES,
    PROFILE_TYPES,
    profile_name_body,
    profile_search_body,
    project_profiles_body,
)
from ingestor.palette.models import ClusterProfile, ClusterProfileSummary

router = APIRouter(tags=["profiles"])

MAX_NAMES = 100
MAX_NAME_LENGTH = 256
# Up to this many names: one filtered search per name; more: page through every profile once and
# filter here, which costs fewer Palette calls than a search per name.
PER_NAME_SEARCH_MAX = 10
DEFAULT_PROFILE_TYPES = ("infra", "cluster")
NAMES_REQUIRED = (
    f"names array is required in request body: 1-{MAX_NAMES} non-empty strings of at most "
    f"{MAX_NAME_LENGTH} characters"
)
SEARCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["names"],
                "properties": {
                    "names": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_NAMES,
                        "items": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
                        "description": "Profile names, matched case-insensitively",
                    }
                },
            }
        }
    },
}
CloudTypeQuery = Annotated[
    str | None, Query(alias="cloudType", description=f"One of: {', '.join(PROFILE_CLOUD_TYPES)}")
]
ProfileTypeQuery = Annotated[
    str | None,
    Query(
        alias="profileType",
        description=f"One or more (comma-separated) of: {', '.join(PROFILE_TYPES)}; default infra,cluster",
    ),
]
VersionQuery = Annotated[
    str | None, Query(alias="versionUid", description="The uid of the profile version to read")
]


def parse_names(body: bytes) -> list[str]:
    """The ``names`` of a search body, each once (case-insensitively, first spelling kept); 400 otherwise."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise bad_request("request body is not valid JSON") from None
    names = data.get("names") if isinstance(data, dict) else None
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_NAMES:
        raise bad_request(NAMES_REQUIRED)
    if not all(isinstance(n, str) and n.strip() and len(n) <= MAX_NAME_LENGTH for n in names):
        raise bad_request(NAMES_REQUIRED)
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.casefold(), name)
    return list(unique.values())


async def profiles_named(call: LiveCall, names: list[str]) -> list[ClusterProfileSummary]:
    """Every profile (all pages) whose name is one of ``names``, compared case-insensitively."""

    async def named(name: str) -> list[ClusterProfileSummary]:
        search = call.client.search_profiles(profile_name_body(name), call.project_uid)
        return await call.run("Profiles", search.collect())

    if len(names) <= PER_NAME_SEARCH_MAX:
        found = [item for chunk in await gather_bounded(names, named) for item in chunk]
    else:
        everything = call.client.search_profiles(profile_search_body(), call.project_uid)
        found = await call.run("Profiles", everything.collect())
    wanted = {name.casefold() for name in names}
    return [item for item in found if item.name.casefold() in wanted]


def profile_types(value: str | None) -> list[str]:
    """``profileType`` as a list (default infra + cluster); 400 naming the allowed values otherwise."""
    if value is None:
        return list(DEFAULT_PROFILE_TYPES)
    types = list(dict.fromkeys(part.strip() for part in value.split(",")))
    if not all(t in PROFILE_TYPES for t in types):
        raise bad_request(f"unsupported profileType {value[:40]!r}; use one of: {', '.join(PROFILE_TYPES)}")
    return types


def family_of(profile: ClusterProfile) -> tuple[str, str | None, str]:
    """A profile family is the same name in the same scope and project (palette-api.md 4.4)."""
    return profile.metadata.scope, profile.metadata.project_uid, profile.name


@router.post("/profiles/search", openapi_extra={"requestBody": SEARCH_BODY})
async def search_profiles(
    request: Request,
    caller: CallerDep,
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803 (the contract's parameter name)
) -> JSONResponse:
    """Route 12: the profile summaries (``POST /v1/dashboard/clusterprofiles``, every page) whose name
    equals one of ``names`` case-insensitively; with ``projectUid``, the project's and inherited ones."""
    await authorize(request, caller, VIEW_PROFILE_INFO)
    names = parse_names(await request.body())
    call = await open_call(request, caller, None)
    found = await profiles_named(call, names)
    return call.json({"profiles": dedupe_by_uid(item.raw for item in found)})


@router.get("/projects/{projectUid:path}/profiles")
async def project_profiles(
    request: Request,
    caller: CallerDep,
    projectUid: str,  # noqa: N803
    cloud_type: CloudTypeQuery = None,
    profile_type: ProfileTypeQuery = None,
    instance: InstanceQuery = None,
) -> JSONResponse:
    """Route 17: the cluster-deployable profiles a project sees (its own and inherited), newest change
    first, from every page of ``POST /v1/dashboard/clusterprofiles`` with the project as scope."""
    await authorize(request, caller, VIEW_PROFILE_INFO)
    check_uid("projectUid", projectUid)
    cloud = single_query(request, "cloudType")
    if cloud is not None:
        check_cloud_type(cloud, PROFILE_CLOUD_TYPES)
    types = profile_types(single_query(request, "profileType"))
    call = await open_call(request, caller, None, params={"projectUid": projectUid})
    search = call.client.search_profiles(project_profiles_body(types, cloud), projectUid)
    items = await call.run("Profiles", search.collect())
    return call.json({"profiles": dedupe_by_uid(item.raw for item in items)})


@router.get("/profiles/{profileUid:path}/packs")
async def profile_packs(
    request: Request,
    caller: CallerDep,
    profileUid: str,  # noqa: N803
    version_uid: VersionQuery = None,
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 18: one version of a profile with its packs (``spec.published.packs``): ``versionUid`` if
    given, read by its own uid (``GET /v1/clusterprofiles/{versionUid}``), else the profile itself.
    A ``versionUid`` of another profile family is 404."""
    await authorize(request, caller, VIEW_PACK_VALUES)
    version = single_query(request, "versionUid")
    params = {"profileUid": profileUid, **({"versionUid": version} if version else {})}
    call = await open_call(request, caller, None, params=params)
    if version is None or version == profileUid:
        profile = await call.run("Profile", call.client.get_profile(profileUid, call.project_uid))
        return call.json(profile.raw)
    found = await call.run("Profile version", call.client.get_profile(version, call.project_uid))
    if profileUid not in found.version_uids:
        # The version's own list does not name the profile: compare the families themselves.
        profile = await call.run("Profile", call.client.get_profile(profileUid, call.project_uid))
        if family_of(profile) != family_of(found):
            raise PluginError(404, f"Profile version not found: {version} is not a version of {profileUid}")
    return call.json(found.raw)


@router.get("/profiles/{profileUid:path}/variables")
async def profile_variables(
    request: Request,
    caller: CallerDep,
    profileUid: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 22: the profile's variables (``GET /v1/clusterprofiles/{uid}/variables``): ``{variables}``."""
    call = await open_call(request, caller, VIEW_PROFILE_INFO, params={"profileUid": profileUid})
    variables = await call.run("Profile", call.client.get_profile_variables(profileUid, call.project_uid))
    payload: dict[str, Any] = dict(variables.raw)
    if payload.get("variables") is None:
        payload["variables"] = []  # Go's nil slice; the contract promises a list
    return call.json(payload)


@router.get("/profiles/{profileUid:path}")
async def get_profile(
    request: Request,
    caller: CallerDep,
    profileUid: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 11: one cluster-profile version (``GET /v1/clusterprofiles/{uid}``, ``v1ClusterProfile``)."""
    call = await open_call(request, caller, VIEW_PROFILE_INFO, params={"profileUid": profileUid})
    profile = await call.run("Profile", call.client.get_profile(profileUid, call.project_uid))
    return call.json(profile.raw)
