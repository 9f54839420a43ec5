"""Palette credentials: an API key or a user's session token, each masked in repr and str.

Imports nothing of ours. The secret leaves these objects only as a request header value.
"""

from __future__ import annotations

import hmac
from typing import ClassVar

_MASK = "***"


class Credential:
    """One way to authenticate to Palette. Subclasses name the header the secret travels in."""

    __slots__ = ("_secret",)
    header_name: ClassVar[str] = ""
    kind: ClassVar[str] = "credential"

    def __init__(self, secret: str) -> None:
        if not isinstance(secret, str):
            raise TypeError(f"{type(self).__name__} needs a string")
        secret = secret.strip()
        if not secret:
            raise ValueError(f"{type(self).__name__} must not be empty")
        if any(ch in secret for ch in "\r\n\x00"):
            # A header value with a line break would smuggle headers; refuse it without echoing it.
            raise ValueError(f"{type(self).__name__} contains a line break or NUL")
        self._secret = secret

    def header(self) -> tuple[str, str]:
        """The one header (name, value) that carries this credential."""
        return self.header_name, self._secret

    def reveal(self) -> str:
        """The secret itself, for the rare caller that must hand it on (never log it)."""
        return self._secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_MASK})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Credential)
        return hmac.compare_digest(self._secret.encode(), other._secret.encode())

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._secret))

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would write the secret into whatever stores the pickle; refuse.
        raise TypeError(f"{type(self).__name__} cannot be pickled")


class ApiKey(Credential):
    """A Palette API key, sent as the ``ApiKey`` header."""

    __slots__ = ()
    header_name = "ApiKey"
    kind = "api-key"


class SessionToken(Credential):
    """A user's Palette session token (JWT), sent raw in ``Authorization`` with no ``Bearer`` prefix."""

    __slots__ = ()
    header_name = "Authorization"
    kind = "session-token"

    def __init__(self, secret: str) -> None:
        if isinstance(secret, str) and secret.strip().lower().startswith("bearer "):
            # Palette wants the raw token (palette-api.md 1.2); accept a pasted "Bearer x" anyway.
            secret = secret.strip()[7:]
        super().__init__(secret)
