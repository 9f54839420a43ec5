"""Caller identity for the HTTP API: Backstage user tokens (JWKS) and static service tokens.

Imports only ``ingestor.errors`` and ``ingestor.config`` of ours (no httpx, no fastapi).
"""

from ingestor.auth.identity import (
    ALLOWED_ALGORITHMS,
    USER_TOKEN_TYPE,
    IdentityVerifier,
    Principal,
    UserTokenPolicy,
    bearer_token,
    verifier_from_settings,
)
from ingestor.auth.jwks import (
    AuthenticationError,
    JwksCache,
    JwksFetcher,
    JwksUnavailableError,
    urllib_fetcher,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "USER_TOKEN_TYPE",
    "AuthenticationError",
    "IdentityVerifier",
    "JwksCache",
    "JwksFetcher",
    "JwksUnavailableError",
    "Principal",
    "UserTokenPolicy",
    "bearer_token",
    "urllib_fetcher",
    "verifier_from_settings",
]
