"""``metadata.links`` to the object's page in the Palette console (best effort), and URL hygiene
for the URLs we write. Imports nothing of ours.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

LINK_TITLE = "Open in Palette"
LINK_ICON = "dashboard"

# palette_kind -> page below ``/projects/<projectUid>/`` (or ``/admin/`` for tenant and system scope).
# Best effort: SpectroCloud documents only the profile page (``/projects/<projectUid>/profiles/cluster/
# <profileUid>``, librarium "cluster definition" guides); the other pages and the ``/admin`` prefix are
# inferred from it and from the console's navigation, not from a published reference.
PAGES = {
    "cluster": "clusters/{uid}/overview",
    "virtual-cluster": "clusters/{uid}/overview",
    "cluster-group": "clustergroups/{uid}",
    "cluster-profile": "profiles/cluster/{uid}",
}


def clean_base_url(url: str) -> str:
    """``scheme://host[:port][/path]`` without credentials, query, fragment or trailing ``/``."""
    try:
        parts = urlsplit(url.strip())
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return ""
    if not parts.scheme or not host:
        return ""
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def console_link(
    console_url: str, palette_kind: str, uid: str, project_uid: str | None
) -> list[dict[str, str]]:
    """One link to the object's console page, or none when no console URL is configured."""
    base = clean_base_url(console_url)
    if not base or not uid:
        return []
    if palette_kind == "project":
        path = f"projects/{quote(uid, safe='')}/overview"
    else:
        page = PAGES[palette_kind].format(uid=quote(uid, safe=""))
        path = f"projects/{quote(project_uid, safe='')}/{page}" if project_uid else f"admin/{page}"
    return [{"url": f"{base}/{path}", "title": LINK_TITLE, "icon": LINK_ICON}]
