"""JavaScript spellings of JSON values, so annotations read exactly as the anchor wrote them.

Imports nothing of ours.
"""

from __future__ import annotations

import json


def compact_json(value: object) -> str:
    """``JSON.stringify`` spelling: no spaces, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def js_string(value: object) -> str:
    """JavaScript's ``String(x)`` for JSON scalars (``2.0`` → ``"2"``, ``1e-7`` → ``"1e-7"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, float) or value != value or value in (float("inf"), float("-inf")):
        return str(value)
    return _js_float(value)


def _js_float(value: float) -> str:
    """ECMAScript Number::toString from Python's shortest round-trip digits."""
    sign = "-" if value < 0 else ""
    digits, _, point = repr(abs(value)).partition("e")
    whole, _, frac = digits.partition(".")
    frac = "" if frac == "0" else frac
    shift = int(point) if point else 0
    raw = (whole + frac).lstrip("0") or "0"
    # n: the position of the decimal point relative to the first significant digit
    lead = len(whole + frac) - len((whole + frac).lstrip("0"))
    n = len(whole) + shift - lead
    raw = raw.rstrip("0") or "0"
    k = len(raw)
    if raw == "0":
        return "0"
    if k <= n <= 21:
        return sign + raw + "0" * (n - k)
    if 0 < n <= 21:
        return sign + raw[:n] + "." + raw[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + raw
    e = n - 1
    body = raw[0] + ("." + raw[1:] if k > 1 else "")
    return f"{sign}{body}e{'+' if e >= 0 else '-'}{abs(e)}"
