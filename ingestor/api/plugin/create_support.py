"""What creation asks of Palette and of the service before and after ``POST /v1/spectroclusters/<kind>``.

Profile variables (to place and check the request's values), the cluster group (its endpoint type, which
a virtual cluster inherits), and the crawl that brings the new cluster into the catalog right away.
Bad references are ``InvalidRequestError`` problems (422), like every other bad field.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import Request

from ingestor.access.inputs import gather_bounded
from ingestor.api.plugin.context import LiveCall
from ingestor.creation.problems import InvalidRequestError, Problem
from ingestor.creation.variables import Scalar, VariableDef, assign
from ingestor.palette.errors import ForbiddenError, NotFoundError, PaletteError
from ingestor.palette.models.profile import Variables
from ingestor.palette.schema import SpecValidator
from ingestor.scheduler import CrawlScheduler, UnknownInstanceError

log = structlog.get_logger(__name__)

ENDPOINT_TYPES = ("LoadBalancer", "Ingress")
DEFAULT_ENDPOINT = "LoadBalancer"


@functools.cache
def validator() -> SpecValidator:
    """Palette's definitions, loaded once (shared with the simulator's checks)."""
    return SpecValidator.from_bundle()


async def profile_variables(
    call: LiveCall,
    profile_uids: Sequence[str],
    per_profile: Mapping[str, Mapping[str, Scalar]],
    cluster: Mapping[str, Scalar],
) -> dict[str, list[dict[str, str]]]:
    """The ``variables`` of each profile entity; a profile Palette does not show this caller is a problem."""

    async def declared(uid: str) -> Variables | None:
        try:
            return await call.client.get_profile_variables(uid, call.project_uid)
        except (NotFoundError, ForbiddenError):
            return None
        except PaletteError as exc:
            raise await call.failure("Cluster profile variables", exc) from None

    found = await gather_bounded(profile_uids, declared)
    problems = [
        Problem(f"profileUids[{index}]", "no such cluster profile (version) visible to you in this scope")
        for index, variables in enumerate(found)
        if variables is None
    ]
    definitions = {
        uid: [_definition(v) for v in variables.variables if v.name]
        for uid, variables in zip(profile_uids, found, strict=True)
        if variables is not None
    }
    placed, wrong = assign(profile_uids, definitions, per_profile, cluster)
    problems += wrong
    if problems:
        raise InvalidRequestError(problems)
    return placed


def _definition(variable: Any) -> VariableDef:
    options = tuple(str(o.value) for o in variable.options if getattr(o, "value", None) is not None)
    return VariableDef(
        name=variable.name,
        required=bool(variable.required),
        default=variable.default_value or None,
        regex=variable.regex or None,
        immutable=bool(variable.immutable),
        options=options,
    )


async def group_endpoint_type(call: LiveCall, group_uid: str, field: str) -> str:
    """The endpoint type a virtual cluster in this group inherits (``clustersConfig.endpointType``)."""
    try:
        group = await call.client.get_cluster_group(group_uid, call.project_uid)
    except (NotFoundError, ForbiddenError):
        raise InvalidRequestError([Problem(field, "no such cluster group visible to you")]) from None
    except PaletteError as exc:
        raise await call.failure("Cluster group", exc) from None
    config = group.spec.clusters_config or {}
    endpoint = config.get("endpointType")
    return endpoint if endpoint in ENDPOINT_TYPES else DEFAULT_ENDPOINT


async def crawl_after_creation(request: Request, instance: str, project_uid: str | None) -> None:
    """Crawl the new cluster's project now (the instance, for a tenant-scope creation), without waiting.

    The project crawl commits only that project's parts, so the cluster reaches the catalog within seconds;
    a failure to ask is logged and changes nothing (the cluster exists; the next crawl brings it).
    """
    scheduler: CrawlScheduler | None = getattr(request.app.state, "scheduler", None)
    if scheduler is None:
        return
    try:
        if project_uid:
            await scheduler.crawl_project(instance, project_uid)
            outcome = "project crawl requested"
        else:
            outcome = (await scheduler.trigger(instance, "manual")).state
    except (UnknownInstanceError, ValueError) as exc:
        log.info("plugin.create_crawl_skipped", instance=instance, reason=type(exc).__name__)
        return
    log.info("plugin.create_crawl", instance=instance, project=project_uid, outcome=outcome)
