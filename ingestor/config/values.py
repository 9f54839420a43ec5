"""Reusable annotated value types for the settings models: URLs, names, secrets.

Foundation layer: imports nothing of ours. Validation messages never contain the checked value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, SecretStr

MASK = "***"
INSTANCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# Backstage entity names: alphanumerics separated by single '-', '_' or '.', at most 63 characters.
ENTITY_NAME = re.compile(r"^(?=.{1,63}$)[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*$")
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
DNS_SUBDOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


def http_url(value: str) -> str:
    """An absolute http(s) URL with a host, no credentials, query or fragment; trailing '/' removed."""
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain whitespace")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    try:
        host, _ = parts.hostname, parts.port
    except ValueError:
        raise ValueError("has an invalid port") from None
    if not host:
        raise ValueError("must include a host name")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials (user:password@)")
    if parts.query or parts.fragment:
        raise ValueError("must not contain a query string or fragment")
    return value.rstrip("/")


def origin(value: str) -> str:
    """A CORS origin: ``*`` or ``scheme://host[:port]`` without a path."""
    if value == "*":
        return value
    url = http_url(value)
    if urlsplit(url).path:
        raise ValueError("an origin is scheme://host[:port] without a path")
    return url


def instance_name(value: str | None) -> str | None:
    """The ``instance`` routing key; empty means unnamed."""
    if value is None or value == "":
        return None
    if not INSTANCE_NAME.fullmatch(value):
        raise ValueError(
            "must be 1-63 letters, digits, '.', '_' or '-' starting with a letter or digit "
            "(it is the 'instance' routing key)"
        )
    return value


def entity_name(value: str) -> str:
    """A Backstage entity name."""
    if not ENTITY_NAME.fullmatch(value):
        raise ValueError("must be a Backstage entity name: 1-63 letters or digits joined by '-', '_' or '.'")
    return value


def dns_subdomain(value: str) -> str:
    """An annotation prefix: a lower-case DNS subdomain."""
    if not DNS_SUBDOMAIN.fullmatch(value):
        raise ValueError("must be a lower-case DNS subdomain such as 'terasky.backstage.io'")
    return value


def path_prefix(value: str) -> str:
    """A Palette API path prefix for rate limiting, e.g. ``/v1/dashboard``."""
    if not value.startswith("/") or any(ch.isspace() for ch in value):
        raise ValueError("a rate-limit prefix is an API path starting with '/', e.g. '/v1/dashboard'")
    return value.rstrip("/") or "/"


def log_level(value: Any) -> Any:
    """Case-insensitive level names; ``warn`` means ``warning``."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        return "warning" if lowered == "warn" else lowered
    return value


def ignored_block(value: Any) -> None:
    """Accept a mapping (or nothing) and drop it: keys read by another plugin."""
    if value is None or isinstance(value, Mapping):
        return None
    raise ValueError("must be a mapping (its keys belong to the cluster provider and are ignored here)")


def blank_to_none(value: Any) -> Any:
    """An empty optional value (``${VAR:-}``) means unset."""
    return None if isinstance(value, str) and not value.strip() else value


def _secret_check(min_length: int) -> Callable[[SecretStr], SecretStr]:
    def check(value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not raw:
            raise ValueError("must not be empty")
        if len(raw) < min_length:
            raise ValueError(f"must be at least {min_length} characters long")
        if any(ch.isspace() for ch in raw):
            raise ValueError("must not contain whitespace")
        return SecretStr(raw)

    return check


def _optional(check: Callable[[SecretStr], SecretStr]) -> Callable[[SecretStr | None], SecretStr | None]:
    def optional(value: SecretStr | None) -> SecretStr | None:
        return None if value is None else check(value)

    return optional


def database_url(value: SecretStr) -> SecretStr:
    """A SQLAlchemy-style URL for SQLite or PostgreSQL (driver suffixes such as ``+asyncpg`` allowed)."""
    raw = value.get_secret_value().strip()
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.split("+", 1)[0].lower() not in DATABASE_SCHEMES or not rest:
        raise ValueError("must be a sqlite:///path or postgresql://host/database URL")
    return SecretStr(raw)


def url_password(url: str) -> str | None:
    """The password embedded in a URL, if any."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def mask_url_password(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    if url_password(url) is None:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


def password_variants(password: str) -> list[str]:
    """The forms a URL password may take in text: as written and percent-decoded."""
    return list(dict.fromkeys([password, unquote(password)]))


def _mask(_: SecretStr) -> str:
    return MASK


def _mask_if_set(value: SecretStr | None) -> str | None:
    return None if value is None else MASK


_MASK_IN_JSON = PlainSerializer(_mask, return_type=str, when_used="json")

HttpUrl = Annotated[str, AfterValidator(http_url)]
OptionalHttpUrl = Annotated[HttpUrl | None, BeforeValidator(blank_to_none)]
OptionalText = Annotated[str | None, BeforeValidator(blank_to_none)]
OptionalPath = Annotated[Path | None, BeforeValidator(blank_to_none)]
Origin = Annotated[str, AfterValidator(origin)]
InstanceName = Annotated[str | None, AfterValidator(instance_name)]
EntityName = Annotated[str, AfterValidator(entity_name)]
AnnotationPrefix = Annotated[str, AfterValidator(dns_subdomain)]
PathPrefix = Annotated[str, AfterValidator(path_prefix)]
Secret = Annotated[SecretStr, AfterValidator(_secret_check(1)), _MASK_IN_JSON]
StaticToken = Annotated[SecretStr, AfterValidator(_secret_check(8)), _MASK_IN_JSON]
# Key material for AES-GCM (stretched by HKDF): long enough to carry 128+ bits; unset when blank.
EncryptionKey = Annotated[
    SecretStr | None,
    BeforeValidator(blank_to_none),
    AfterValidator(_optional(_secret_check(32))),
    PlainSerializer(_mask_if_set, return_type=str | None, when_used="json"),
]
DatabaseUrl = Annotated[SecretStr, AfterValidator(database_url), _MASK_IN_JSON]
IgnoredBlock = Annotated[None, BeforeValidator(ignored_block)]
LogLevel = Annotated[Literal["debug", "info", "warning", "error", "critical"], BeforeValidator(log_level)]
