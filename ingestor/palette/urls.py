"""The one place that builds Palette URLs: base URL normalisation and percent-encoded path segments.

Imports nothing of ours outside ``ingestor.palette``. Every path parameter goes through ``expand``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import httpx

from ingestor.palette.errors import InvalidRequestError

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def encode_segment(value: str, *, name: str = "parameter", template: str | None = None) -> str:
    """Percent-encode one path segment; refuse values that could change the path's meaning."""
    if not isinstance(value, str):
        raise InvalidRequestError(f"path parameter {name!r} must be a string", path=template)
    if value in ("", ".", ".."):
        # Empty segments collapse and dot segments are normalised away by URL libraries.
        raise InvalidRequestError(f"path parameter {name!r} is empty or a dot segment", path=template)
    return quote(value, safe="")


def expand(template: str, params: dict[str, str] | None = None) -> str:
    """``/v1/x/{uid}`` + ``{"uid": "a/b"}`` -> ``/v1/x/a%2Fb``. Every placeholder must be supplied."""
    params = params or {}
    names = _PLACEHOLDER.findall(template)
    missing = [n for n in names if n not in params]
    extra = [n for n in params if n not in names]
    if missing or extra:
        problem = f"missing {missing}" if missing else f"unexpected {extra}"
        raise InvalidRequestError(f"path parameters do not match the template: {problem}", path=template)
    return _PLACEHOLDER.sub(
        lambda m: encode_segment(params[m.group(1)], name=m.group(1), template=template), template
    )


def normalise_base_url(base_url: str) -> str:
    """``https://h``, ``https://h/``, ``https://h/prefix/`` -> a base with no trailing slash."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise InvalidRequestError("Palette base URL is empty")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequestError("Palette base URL must be an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise InvalidRequestError("Palette base URL must not carry a query or fragment")
    if parts.username or parts.password:
        raise InvalidRequestError("Palette base URL must not carry user information")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class UrlBuilder:
    """Joins a normalised base URL with expanded path templates."""

    def __init__(self, base_url: str) -> None:
        self.base = normalise_base_url(base_url)

    def url(self, template: str, params: dict[str, str] | None = None) -> httpx.URL:
        """The absolute URL for ``template`` with its parameters encoded."""
        if not template.startswith("/"):
            raise InvalidRequestError("path template must start with '/'", path=template)
        try:
            return httpx.URL(self.base + expand(template, params))
        except httpx.InvalidURL as exc:
            raise InvalidRequestError(f"cannot build URL: {type(exc).__name__}", path=template) from None
