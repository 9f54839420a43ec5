"""The typed, immutable settings: one frozen pydantic model per YAML section, camelCase keys.

Foundation layer: imports only ingestor.palette.options (data-only). Secrets are SecretStr (masked in
repr and str); unknown keys are rejected except inside blocks we accept and ignore.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, WrapSerializer, model_validator
from pydantic.alias_generators import to_camel

from ingestor.config.values import (
    AnnotationPrefix,
    DatabaseUrl,
    EncryptionKey,
    EntityName,
    HttpUrl,
    IgnoredBlock,
    InstanceName,
    LogLevel,
    OptionalHttpUrl,
    OptionalPath,
    OptionalText,
    Origin,
    PathPrefix,
    Secret,
    StaticToken,
    mask_url_password,
    password_variants,
    url_password,
)
from ingestor.palette.options import DEFAULT_RATE_LIMITS, ClientOptions, RateLimit, RetryPolicy, Timeouts

MIN_REFRESH_SECONDS = 30
DEFAULT_DATABASE_URL = "sqlite:///./data/ingestor.db"
_TIMEOUTS = Timeouts()
_RETRY = RetryPolicy()
_CLIENT = ClientOptions()


class Section(BaseModel):
    """Base of every settings model: frozen, strict about keys, camelCase in YAML."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        coerce_numbers_to_str=True,
        str_strip_whitespace=True,
    )


# --- spectrocloud: the seed's block, keys kept exactly -------------------------------------------


class ResourcesSettings(Section):
    """Which Palette object kinds become catalog entities."""

    projects: bool = True
    cluster_profiles: bool = True
    clusters: bool = True
    cluster_groups: bool = True
    virtual_clusters: bool = True


class CatalogProviderSettings(Section):
    """How one Palette instance is crawled into the catalog."""

    enabled: bool = True
    refresh_interval_seconds: int = Field(600, ge=MIN_REFRESH_SECONDS, le=7 * 24 * 3600)
    default_owner: EntityName = "spectrocloud-auto-ingested"
    owner_namespace: Literal["group", "user"] = "group"
    include_projects: tuple[str, ...] = ()
    exclude_projects: tuple[str, ...] = ()
    exclude_tenant_scoped_resources: bool = False
    resources: ResourcesSettings = Field(default_factory=ResourcesSettings)


class OidcSettings(Section):
    """Sign-in with this Palette instance (OIDC authorization code + PKCE): ``environments[].oidc``.

    Endpoints: ``tokenUrl``/``jwksUrl``/``issuer`` given explicitly win; else read from ``discoveryUrl``
    (default: the authorization URL's parent + ``/.well-known/openid-configuration``); a token URL is
    derived (final ``/auth`` segment → ``/token``) only when neither is available.
    """

    client_id: str = Field(min_length=1)
    client_secret: Secret | None = None
    authorization_url: HttpUrl
    token_url: OptionalHttpUrl = None
    discovery_url: OptionalHttpUrl = None
    issuer: OptionalText = None
    jwks_url: OptionalHttpUrl = None
    scope: str = Field("openid profile email", min_length=1)
    prompt: Literal["login", "none", "consent", "select_account"] | None = None
    callback_url: OptionalHttpUrl = None


class EnvironmentSettings(Section):
    """One Palette instance (``spectrocloud.environments[]``)."""

    name: InstanceName = None
    url: HttpUrl
    tenant: OptionalText = None
    api_token: Secret
    api_token_fallback: bool = True
    console_url: OptionalHttpUrl = None
    catalog_provider: CatalogProviderSettings = Field(default_factory=CatalogProviderSettings)
    oidc: OidcSettings | None = None
    # Read by the TeraSky cluster provider (compat 1.3): accepted so a pasted block loads, then dropped.
    cluster_provider: IgnoredBlock = Field(default=None, exclude=True, repr=False)


class SpectroCloudSettings(Section):
    """The ``spectrocloud:`` block as Backstage teams already write it."""

    enabled: bool = True
    annotation_prefix: AnnotationPrefix = "terasky.backstage.io"
    enable_permissions: bool = False
    environments: tuple[EnvironmentSettings, ...] = ()


# --- our service sections ------------------------------------------------------------------------


class CorsSettings(Section):
    """Browser origins allowed to call the service."""

    allowed_origins: tuple[Origin, ...] = ()


class ServerSettings(Section):
    """The HTTP listener."""

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(7007, ge=0, le=65535)
    base_url: OptionalHttpUrl = None
    body_limit_bytes: int = Field(1024 * 1024, ge=1024, le=1024**3)
    cors: CorsSettings = Field(default_factory=CorsSettings)


class RetentionSettings(Section):
    """How much history the store keeps."""

    runs: int = Field(500, ge=1, le=1_000_000)
    change_days: int = Field(90, ge=1, le=3650)


class PoolSettings(Section):
    """Database connection pool."""

    size: int = Field(5, ge=1, le=100)


class DatabaseSettings(Section):
    """Where crawled state lives. ``url`` is secret because it may carry a password."""

    url: DatabaseUrl = Field(default_factory=lambda: SecretStr(DEFAULT_DATABASE_URL))
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    pool: PoolSettings = Field(default_factory=PoolSettings)

    @property
    def display_url(self) -> str:
        """The URL with any password replaced by ``***``."""
        return mask_url_password(self.url.get_secret_value())

    @property
    def password(self) -> str | None:
        """The password embedded in the URL, if any."""
        return url_password(self.url.get_secret_value())


class SchedulerSettings(Section):
    """Periodic crawls."""

    enabled: bool = True
    jitter_seconds: int = Field(30, ge=0, le=3600)
    lease_seconds: int = Field(120, ge=10, le=3600)
    run_on_start: bool = True
    max_concurrent_crawls: int = Field(2, ge=1, le=64)


class RemovalGuardSettings(Section):
    """When a crawl would remove many entities of one part, hold the removal until crawls agree."""

    max_removal_share: float = Field(0.5, gt=0.0, le=1.0)
    confirm_after_runs: int = Field(3, ge=1, le=100)
    min_part_size: int = Field(4, ge=1, le=1_000_000)


class CrawlSettings(Section):
    """How one crawl runs."""

    max_concurrent_projects: int = Field(8, ge=1, le=256)
    timeout_seconds: int = Field(1800, ge=10, le=24 * 3600)
    removal_guard: RemovalGuardSettings = Field(default_factory=RemovalGuardSettings)


class StaticAccessOptions(Section):
    """A static bearer token and the principal it stands for."""

    token: StaticToken
    subject: str = Field(min_length=1)


class PermissionAttributes(Section):
    """``permissionAttribute`` of an access restriction: the actions allowed (one or several)."""

    action: tuple[Literal["create", "read", "update", "delete", "use"], ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("action"), str):
            return {**data, "action": [data["action"]]}
        return data


class AccessRestriction(Section):
    """What a static token may do, as Backstage spells it: a plugin, optionally permissions and actions."""

    plugin: str = Field(min_length=1)
    permission: tuple[str, ...] | None = None
    permission_attribute: PermissionAttributes | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("permission"), str):
            return {**data, "permission": [data["permission"]]}
        return data


class ExternalAccessEntry(Section):
    """One ``auth.externalAccess[]`` entry, shaped like Backstage's (plus ``trustUserEmailHeader``)."""

    type: Literal["static"]
    options: StaticAccessOptions
    access_restrictions: tuple[AccessRestriction, ...] | None = None
    trust_user_email_header: bool = False


class BackstageAuthSettings(Section):
    """How Backstage-issued tokens are verified (all optional)."""

    base_url: OptionalHttpUrl = None
    jwks_url: OptionalHttpUrl = None
    issuer: OptionalText = None
    audience: OptionalText = None


class RbacSettings(Section):
    """Where permission decisions come from when ``spectrocloud.enablePermissions`` is true."""

    mode: Literal["file", "backstage"] = "file"
    policy_file: OptionalPath = None


class SessionSettings(Section):
    """Per-user Palette session tokens kept in the store, encrypted (compat S10)."""

    encryption_key: EncryptionKey = None
    max_entries: int = Field(10000, ge=1, le=10_000_000)
    max_lifetime_seconds: int = Field(43200, ge=60, le=30 * 24 * 3600)


class SignInSettings(Section):
    """How "Sign in with Palette" ends: where the browser may return, whom a session belongs to."""

    allowed_origins: tuple[Origin, ...] = ()
    user_ref: Literal["emailLocalPart", "signedInUserOnly"] = "emailLocalPart"
    require_verified_email: bool = True
    flow_timeout_seconds: int = Field(600, ge=60, le=3600)


class AuthSettings(Section):
    """Who may call the service."""

    allow_unauthenticated: bool = False
    external_access: tuple[ExternalAccessEntry, ...] = ()
    backstage: BackstageAuthSettings = Field(default_factory=BackstageAuthSettings)
    rbac: RbacSettings = Field(default_factory=RbacSettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    sign_in: SignInSettings = Field(default_factory=SignInSettings)


class LoggingSettings(Section):
    """Log level and renderer (``auto``: console on a TTY, JSON otherwise)."""

    level: LogLevel = "info"
    format: Literal["auto", "json", "console"] = "auto"


# --- palette: client tuning → ClientOptions ------------------------------------------------------


class TimeoutSettings(Section):
    """Seconds; ``total`` bounds one logical call, retries included."""

    connect: float = Field(_TIMEOUTS.connect, gt=0, le=3600)
    read: float = Field(_TIMEOUTS.read, gt=0, le=3600)
    write: float = Field(_TIMEOUTS.write, gt=0, le=3600)
    pool: float = Field(_TIMEOUTS.pool, gt=0, le=3600)
    total: float = Field(_TIMEOUTS.total, gt=0, le=24 * 3600)


class RetrySettings(Section):
    """Exponential back-off with jitter for 429, 502, 503, 504 and connection errors."""

    max_attempts: int = Field(_RETRY.max_attempts, ge=1, le=20)
    backoff_initial_seconds: float = Field(_RETRY.backoff_initial, ge=0, le=600)
    backoff_max_seconds: float = Field(_RETRY.backoff_max, ge=0, le=3600)

    @model_validator(mode="after")
    def _max_not_below_initial(self) -> RetrySettings:
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError("backoffMaxSeconds must not be smaller than backoffInitialSeconds")
        return self


class RateLimitSettings(Section):
    """A token bucket: ``rate`` requests per second, ``burst`` at once."""

    rate: float = Field(gt=0, le=100_000)
    burst: int = Field(ge=1, le=100_000)


def _freeze(value: Mapping[str, RateLimitSettings]) -> Mapping[str, RateLimitSettings]:
    return MappingProxyType(dict(value))


def _thaw(value: Mapping[str, RateLimitSettings], handler: Any) -> Any:
    return handler(dict(value))


FrozenPrefixMap = Annotated[
    Mapping[PathPrefix, RateLimitSettings], AfterValidator(_freeze), WrapSerializer(_thaw)
]


class RateLimitsSettings(Section):
    """Client-side per-prefix limiter; ``prefixes`` are merged over the documented defaults."""

    enabled: bool = _CLIENT.rate_limits_enabled
    prefixes: FrozenPrefixMap = Field(default_factory=lambda: MappingProxyType({}))


class PaletteSettings(Section):
    """Tuning of the Palette client."""

    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)
    retries: RetrySettings = Field(default_factory=RetrySettings)
    max_connections: int = Field(_CLIENT.max_connections, ge=1, le=1000)
    max_concurrency: int = Field(_CLIENT.max_concurrency, ge=1, le=1000)
    page_size: int = Field(_CLIENT.page_size, ge=1, le=50)
    max_pages: int = Field(_CLIENT.max_pages, ge=1, le=1_000_000)
    rate_limits: RateLimitsSettings = Field(default_factory=RateLimitsSettings)

    def client_options(self) -> ClientOptions:
        """The ``ClientOptions`` for a ``PaletteClient``."""
        t, r = self.timeouts, self.retries
        limits = dict(DEFAULT_RATE_LIMITS)
        limits.update({p: RateLimit(v.rate, v.burst) for p, v in self.rate_limits.prefixes.items()})
        return ClientOptions(
            timeouts=Timeouts(connect=t.connect, read=t.read, write=t.write, pool=t.pool, total=t.total),
            retry=RetryPolicy(
                max_attempts=r.max_attempts,
                backoff_initial=r.backoff_initial_seconds,
                backoff_max=r.backoff_max_seconds,
            ),
            max_connections=self.max_connections,
            max_concurrency=self.max_concurrency,
            page_size=self.page_size,
            max_pages=self.max_pages,
            rate_limits_enabled=self.rate_limits.enabled,
            rate_limits=limits,
        )


# --- the whole file --------------------------------------------------------------------------------


class ConsoleSettings(Section):
    """The operator console at ``/``."""

    enabled: bool = True
    anonymous_read: bool = False
    session_hours: int = Field(8, ge=1, le=168)


class Settings(Section):
    """Everything the service reads at start-up. Build it with ``load_settings`` or ``settings_from_dict``."""

    spectrocloud: SpectroCloudSettings = Field(default_factory=SpectroCloudSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    palette: PaletteSettings = Field(default_factory=PaletteSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)

    def redacted(self) -> dict[str, Any]:
        """A JSON-ready copy for status pages: secrets are ``***``, the database password too."""
        data = self.model_dump(mode="json", by_alias=True)
        data["database"]["url"] = self.database.display_url
        return data

    def secret_values(self) -> tuple[str, ...]:
        """Every secret this configuration holds, for the log redactor (``register_secrets``)."""
        values = [env.api_token.get_secret_value() for env in self.spectrocloud.environments]
        values += [entry.options.token.get_secret_value() for entry in self.auth.external_access]
        if self.auth.sessions.encryption_key is not None:
            values.append(self.auth.sessions.encryption_key.get_secret_value())
        password = self.database.password
        if password:
            values += password_variants(password)
        return tuple(dict.fromkeys(v for v in values if v))
