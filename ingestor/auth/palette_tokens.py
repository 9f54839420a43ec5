"""What a token handed to us as a Palette session looks like, without verifying it (Palette does that).

Palette session tokens are HS256 JWTs (the simulator uses opaque strings). An RS256 OIDC ID token is
never forwarded to Palette (A15): it would only earn a 401 and it is not ours to pass around.
"""

from __future__ import annotations

import jwt


def forwardable_to_palette(token: str) -> bool:
    """False for a JWT signed with anything but HS256 (an ID token, a Backstage token) and for text no
    session token holds (anything but printable ASCII cannot even be sent as a header); True otherwise."""
    if not (token.isascii() and token.isprintable()):
        return False
    if token.count(".") != 2:
        return True
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return True  # not a JWT after all: an opaque session token
    return header.get("alg") == "HS256"
