"""``PaletteClient``: the async Palette REST client (one pooled httpx client, limiter, counters).

Imports nothing of ours outside ``ingestor.palette``. Endpoint groups live in ``*_calls`` mixins;
projects and users (tenant scope only) are here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from ingestor.palette.cluster_calls import ClusterCalls
from ingestor.palette.credentials import Credential
from ingestor.palette.filters import all_projects_body
from ingestor.palette.inventory_calls import InventoryCalls
from ingestor.palette.models import (
    Project,
    ProjectMetadata,
    ProjectSummary,
    User,
    UserInfo,
    UserMe,
    UserProjects,
)
from ingestor.palette.options import ClientOptions
from ingestor.palette.paging import Paginator
from ingestor.palette.profile_calls import ProfileCalls
from ingestor.palette.ratelimit import RateLimiter
from ingestor.palette.stats import ClientStats
from ingestor.palette.transport import Requester
from ingestor.palette.urls import UrlBuilder

EventHooks = Mapping[str, Sequence[Callable[..., Awaitable[Any]]]]
Transport = httpx.AsyncBaseTransport
"""The transport seam, named here so callers outside ``palette`` need not import httpx."""


def _http_client(
    options: ClientOptions, transport: httpx.AsyncBaseTransport | None, event_hooks: EventHooks | None
) -> httpx.AsyncClient:
    t = options.timeouts
    return httpx.AsyncClient(
        timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
        limits=httpx.Limits(
            max_connections=options.max_connections, max_keepalive_connections=options.max_connections
        ),
        headers={"User-Agent": options.user_agent},
        transport=transport,
        event_hooks={k: list(v) for k, v in (event_hooks or {}).items()},
        follow_redirects=False,
    )


class PaletteClient(ClusterCalls, ProfileCalls, InventoryCalls):
    """One Palette instance seen with one credential. Use as ``async with PaletteClient(...) as c``.

    ``limiter`` may be shared by every client of the same instance (Palette limits per source IP).
    ``transport`` is the httpx seam tests use to record, validate or replay traffic.
    """

    def __init__(
        self,
        base_url: str,
        credential: Credential,
        *,
        options: ClientOptions | None = None,
        instance: str | None = None,
        limiter: RateLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: EventHooks | None = None,
    ) -> None:
        if not isinstance(credential, Credential):
            raise TypeError("credential must be an ApiKey or a SessionToken")
        options = options or ClientOptions()
        urls = UrlBuilder(base_url)
        self._owns_http = True
        self._requester = Requester(
            _http_client(options, transport, event_hooks),
            urls,
            credential,
            options=options,
            limiter=limiter or RateLimiter.from_options(options),
            stats=ClientStats(),
            instance=instance,
        )

    def with_credential(self, credential: Credential) -> PaletteClient:
        """A sibling for another user's credential sharing this client's pool, limiter and counters.

        Closing the sibling does not close the pool; close the original when done.
        """
        if not isinstance(credential, Credential):
            raise TypeError("credential must be an ApiKey or a SessionToken")
        sibling = object.__new__(type(self))
        r = self._requester
        sibling._owns_http = False
        sibling._requester = Requester(
            r.http,
            r.urls,
            credential,
            options=r.options,
            limiter=r.limiter,
            stats=r.stats,
            instance=r.instance,
        )
        return sibling

    @property
    def base_url(self) -> str:
        return self._requester.urls.base

    @property
    def options(self) -> ClientOptions:
        return self._requester.options

    @property
    def limiter(self) -> RateLimiter:
        return self._requester.limiter

    @property
    def stats(self) -> ClientStats:
        """Counters per endpoint (shared with ``with_credential`` siblings)."""
        return self._requester.stats

    @property
    def credential_kind(self) -> str:
        """``api-key`` or ``session-token`` (never the secret)."""
        return self._requester.credential.kind

    def __repr__(self) -> str:
        return (
            f"PaletteClient(base_url={self.base_url!r}, instance={self.instance!r}, "
            f"credential={self._requester.credential!r})"
        )

    async def aclose(self) -> None:
        """Close the connection pool (a no-op on ``with_credential`` siblings)."""
        if self._owns_http:
            await self._requester.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # Projects and users: tenant scope only, so no ``project_uid``.

    def list_projects(self, filter_spec: dict[str, Any] | None = None) -> Paginator[ProjectSummary]:
        """``POST /v1/dashboard/projects``: project summaries (paged)."""
        body = filter_spec if filter_spec is not None else all_projects_body()
        return self._paged(ProjectSummary, "POST", "/v1/dashboard/projects", body=body)

    async def projects_metadata(self, name: str | None = None) -> list[ProjectMetadata]:
        """``GET /v1/dashboard/projects/metadata``: uid and name of every project, unpaged."""
        params = {"name": name} if name else None
        return await self._list(
            ProjectMetadata, self._call("GET", "/v1/dashboard/projects/metadata", params=params)
        )

    async def get_project(self, uid: str) -> Project:
        """``GET /v1/projects/{uid}``."""
        return await self._one(Project, self._call("GET", "/v1/projects/{uid}", path={"uid": uid}))

    async def users_me(self) -> UserMe:
        """``GET /v1/users/me`` (undocumented): the caller with per-project permission strings."""
        return await self._one(UserMe, self._call("GET", "/v1/users/me"))

    async def users_info(self) -> UserInfo:
        """``GET /v1/users/info``: the caller's user uid, tenant uid and organisation name."""
        return await self._one(UserInfo, self._call("GET", "/v1/users/info"))

    async def get_user(self, uid: str) -> User:
        """``GET /v1/users/{uid}``."""
        return await self._one(User, self._call("GET", "/v1/users/{uid}", path={"uid": uid}))

    async def user_projects(self, uid: str) -> UserProjects:
        """``GET /v1/users/{uid}/projects``: the user's projects and roles."""
        return await self._one(UserProjects, self._call("GET", "/v1/users/{uid}/projects", path={"uid": uid}))
