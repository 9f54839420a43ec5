"""Redaction of secret-bearing fields in Palette cloud accounts before they leave the service (S9).

Pure functions over JSON; imports nothing of ours. Secrets are *replaced* by ``MASK`` (keys stay), so a
client can still see which fields an account has without learning their values.
"""

from __future__ import annotations

from typing import Any

MASK = "***"

# Parts of a normalised field name (lower case, no ``_``/``-``) that mark a secret: vSphere/OpenStack
# ``password``, AWS ``secretKey``/``accessKey``, STS ``externalId``, Azure ``clientSecret``, GCP
# ``jsonCredentials``, MAAS/CloudStack ``apiKey``, and the generic token/credential/private-key names.
SECRET_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "privatekey",
    "apikey",
    "accesskey",
    "externalid",
)
# Names that merely describe a secret (``credentialType``, ``tokenExpiry``, ``jsonCredentialsFileName``).
DESCRIPTIVE_SUFFIXES = ("type", "expiry", "expiration", "time", "timestamp", "filename", "uid")
PUBLIC_KEYS = frozenset({"publickey"})


def is_secret_name(name: str) -> bool:
    """Whether a field called ``name`` holds secret material (see ``SECRET_PARTS``; ``key``, ``*Key``)."""
    norm = name.lower().replace("_", "").replace("-", "")
    if norm.endswith(DESCRIPTIVE_SUFFIXES) or norm in PUBLIC_KEYS:
        return False
    return any(part in norm for part in SECRET_PARTS) or norm.endswith("key")


def redact_secrets(value: Any) -> Any:
    """A copy of ``value`` with the value of every secret-named field (at any depth) replaced by ``MASK``.

    A secret field that is ``null`` or ``""`` is kept as it is (nothing to hide); a secret field holding
    an object or a list is masked as a whole. The input is never modified.
    """
    if isinstance(value, dict):
        return {
            key: MASK if is_secret_name(str(key)) and item not in (None, "") else redact_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_secrets(item) for item in value]
    return value
