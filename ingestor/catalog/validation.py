"""Backstage's entity validity rules (backstage.md 1.2-1.4): the last check before anything is served.

Ports ``@backstage/catalog-model`` 1.10.1 (schemas, the four catalog policies, the System and Resource
kind schemas, spec reference parsing) to pure Python. Imports nothing of ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

# Regexes exactly as in catalog-model 1.10.1 (KubernetesValidatorFunctions, makeValidator); use fullmatch.
OBJECT_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
DNS_LABEL = re.compile(r"[a-z0-9]+(?:\-+[a-z0-9]+)*")
TAG = re.compile(r"[a-z0-9:+#]+(\-[a-z0-9:+#]+)*")
API_VERSION_SUFFIX = re.compile(r"[a-z0-9A-Z]+")
KIND = re.compile(r"[a-zA-Z][a-z0-9A-Z]*")

ROOT_FIELDS = ("apiVersion", "kind", "metadata", "spec")
BUILTIN_API_VERSIONS = ("backstage.io/v1alpha1", "backstage.io/v1beta1")
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class KindRules:
    """What a built-in kind's schema requires of ``spec`` and which spec fields hold entity refs."""

    required: tuple[str, ...]
    strings: tuple[str, ...]  # optional non-empty string fields
    string_lists: tuple[str, ...]  # optional lists of non-empty strings
    refs: Mapping[str, str | None]  # ref field -> default kind (None: the ref must name its kind)


KIND_RULES: Mapping[str, KindRules] = {
    "Resource": KindRules(
        required=("type", "owner"),
        strings=("type", "owner", "system"),
        string_lists=("dependsOn", "dependencyOf"),
        refs={"owner": "Group", "system": "System", "dependsOn": None, "dependencyOf": None},
    ),
    "System": KindRules(
        required=("owner",),
        strings=("owner", "domain", "type"),
        string_lists=(),
        refs={"owner": "Group", "domain": "Domain"},
    ),
}


# --- field rules -------------------------------------------------------------------------------


def is_valid_object_name(value: object) -> bool:
    """Entity names and label values: 1-63 chars, alphanumeric at both ends, ``-_.`` inside."""
    return isinstance(value, str) and 1 <= len(value) <= 63 and OBJECT_NAME.fullmatch(value) is not None


is_valid_entity_name = is_valid_object_name


def is_valid_dns_label(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and DNS_LABEL.fullmatch(value) is not None


is_valid_namespace = is_valid_dns_label


def is_valid_dns_subdomain(value: object) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 253
        and all(is_valid_dns_label(part) for part in value.split("."))
    )


def _prefix_and_or_suffix(
    value: object, prefix_ok: Callable[[str], bool], suffix_ok: Callable[[str], bool]
) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    if len(parts) == 1:
        return suffix_ok(parts[0])
    return len(parts) == 2 and prefix_ok(parts[0]) and suffix_ok(parts[1])


def _api_version_suffix(value: str) -> bool:
    return 1 <= len(value) <= 63 and API_VERSION_SUFFIX.fullmatch(value) is not None


def is_valid_api_version(value: object) -> bool:
    return _prefix_and_or_suffix(value, is_valid_dns_subdomain, _api_version_suffix)


def is_valid_kind(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and KIND.fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _key_ok(value: str) -> bool:
    return _prefix_and_or_suffix(value, is_valid_dns_subdomain, is_valid_object_name)


def is_valid_annotation_key(value: object) -> bool:
    """``[prefix/]name``: prefix a DNS subdomain, name an object name, at most one ``/``."""
    return isinstance(value, str) and _key_ok(value)


is_valid_label_key = is_valid_annotation_key


def is_valid_label_value(value: object) -> bool:
    return value == "" or is_valid_object_name(value)


def is_valid_tag(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and TAG.fullmatch(value) is not None


def is_non_empty_string(value: object) -> bool:
    """``isNonEmptyString``: a string with something besides whitespace."""
    return isinstance(value, str) and bool(value.strip())


# WHATWG "special" schemes need a host; forbidden host code points make ``new URL()`` throw.
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_C0_AND_SPACE = "".join(chr(i) for i in range(0x21))
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_FORBIDDEN_HOST = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")


def is_valid_url(value: object) -> bool:
    """Approximates JavaScript's ``new URL(value)`` (what ``isValidUrl`` calls): absolute URLs only.

    A scheme is required; http(s), ws(s) and ftp URLs need a valid host and port. Stricter than the
    WHATWG parser in rare corners (it would percent-encode some characters we reject).
    """
    if not isinstance(value, str):
        return False
    # The WHATWG parser trims C0 controls and spaces, and drops tabs and newlines anywhere.
    text = value.strip(_C0_AND_SPACE).translate(_TAB_NEWLINE)
    scheme, sep, rest = text.partition(":")
    if not sep or not _SCHEME.fullmatch(scheme):
        return False
    if scheme.lower() not in _SPECIAL_SCHEMES:
        return True
    parts = urlsplit(text.replace("\\", "/"))
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("["):
        return host.partition("]")[0] != "[" and host.count("]") == 1
    name, colon, port = host.partition(":")
    if not name or _FORBIDDEN_HOST.search(name):
        return False
    return not colon or port == "" or (port.isdigit() and int(port) <= 65535)


# --- entity references -------------------------------------------------------------------------


@dataclass(frozen=True)
class EntityRef:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}".lower()


class RefError(ValueError):
    """An entity reference Backstage cannot parse."""


def parse_entity_ref(
    ref: str, default_kind: str | None = None, default_namespace: str = DEFAULT_NAMESPACE
) -> EntityRef:
    """``parseEntityRef``: ``[<kind>:][<namespace>/]<name>``; the kind comes before the first ``:``
    unless a ``/`` comes earlier. Raises :class:`RefError` with Backstage's message."""
    if not ref:
        raise RefError("Entity reference must not be empty")
    colon = ref.find(":")
    slash = ref.find("/")
    if slash != -1 and slash < colon:
        colon = -1
    kind = None if colon == -1 else ref[:colon]
    namespace = None if slash == -1 else ref[colon + 1 : slash]
    name = ref[max(colon + 1, slash + 1) :]
    if kind == "" or namespace == "" or name == "":
        raise RefError(f'Entity reference "{ref}" was not on the form [<kind>:][<namespace>/]<name>')
    kind = kind if kind is not None else default_kind
    if not kind:
        raise RefError(f'Entity reference "{ref}" had missing or empty kind')
    return EntityRef(kind, namespace if namespace is not None else default_namespace, name)


# --- whole entities ----------------------------------------------------------------------------


def validate_entity(entity: object) -> list[str]:
    """Every reason Backstage would reject ``entity`` (empty when it would be accepted).

    Covers the envelope and entity schemas, ``NoForeignRootFieldsEntityPolicy``,
    ``FieldFormatEntityPolicy``, the System/Resource kind schemas and spec reference parsing.
    Any other kind is reported as not emitted by us.
    """
    if not isinstance(entity, Mapping):
        return ["entity must be an object"]
    errors = _envelope_errors(entity)
    metadata = entity.get("metadata")
    if isinstance(metadata, Mapping):
        errors += _metadata_errors(metadata)
    if not errors:
        errors += _kind_errors(entity)
    return errors


def _envelope_errors(entity: Mapping[str, Any]) -> list[str]:
    errors = [f"Unknown field {key}" for key in entity if key not in ROOT_FIELDS]
    for key in ("apiVersion", "kind", "metadata"):
        if key not in entity:
            errors.append(f"<root> must have required property '{key}'")
    if "apiVersion" in entity and not is_valid_api_version(entity["apiVersion"]):
        errors.append(f"apiVersion is not valid: {entity['apiVersion']!r}")
    if "kind" in entity and not is_valid_kind(entity["kind"]):
        errors.append(f"kind is not valid: {entity['kind']!r}")
    if "metadata" in entity and not isinstance(entity["metadata"], Mapping):
        errors.append("/metadata must be object")
    if "spec" in entity and not isinstance(entity["spec"], Mapping):
        errors.append("/spec must be object")
    return errors


def _metadata_errors(meta: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    if "name" not in meta:
        errors.append("/metadata must have required property 'name'")
    elif not is_valid_entity_name(meta["name"]):
        errors.append(f"metadata.name is not valid: {meta['name']!r}")
    if "namespace" in meta and not is_valid_namespace(meta["namespace"]):
        errors.append(f"metadata.namespace is not valid: {meta['namespace']!r}")
    for field in ("uid", "etag", "title"):
        if field in meta and not (isinstance(meta[field], str) and meta[field]):
            errors.append(f"/metadata/{field} must be a non-empty string")
    if "description" in meta and not isinstance(meta["description"], str):
        errors.append("/metadata/description must be string")
    errors += _map_errors(meta, "annotations", is_valid_annotation_key, lambda v: isinstance(v, str))
    errors += _map_errors(meta, "labels", is_valid_label_key, is_valid_label_value)
    errors += _tag_errors(meta.get("tags", []))
    errors += _link_errors(meta.get("links", []))
    return errors


def _map_errors(
    meta: Mapping[str, Any], field: str, key_ok: Callable[[object], bool], value_ok: Callable[[object], bool]
) -> list[str]:
    values = meta.get(field, {})
    if not isinstance(values, Mapping):
        return [f"/metadata/{field} must be object"]
    errors = []
    for key, value in values.items():
        if not key_ok(key):
            errors.append(f"{field} key is not valid: {key!r}")
        if not value_ok(value):
            errors.append(f"{field}.{key} value is not valid: {value!r}")
    return errors


def _tag_errors(tags: object) -> list[str]:
    if not isinstance(tags, list):
        return ["/metadata/tags must be array"]
    return [f"tags.{i} is not valid: {tag!r}" for i, tag in enumerate(tags) if not is_valid_tag(tag)]


def _link_errors(links: object) -> list[str]:
    if not isinstance(links, list):
        return ["/metadata/links must be array"]
    errors = []
    for i, link in enumerate(links):
        if not isinstance(link, Mapping):
            errors.append(f"/metadata/links/{i} must be object")
            continue
        if not is_valid_url(link.get("url")):
            errors.append(f"links.{i}.url is not a valid url: {link.get('url')!r}")
        for field in ("title", "icon", "type"):
            if field in link and not is_non_empty_string(link[field]):
                errors.append(f"links.{i}.{field} must be a non-empty string")
    return errors


def _kind_errors(entity: Mapping[str, Any]) -> list[str]:
    kind = entity["kind"]
    rules = KIND_RULES.get(kind)
    if rules is None:
        return [f"kind {kind!r} is not one we emit (System, Resource)"]
    if entity["apiVersion"] not in BUILTIN_API_VERSIONS:
        return [f"apiVersion {entity['apiVersion']!r} is not valid for kind {kind}"]
    spec = entity.get("spec")
    if not isinstance(spec, Mapping):
        return ["<root> must have required property 'spec'"]
    errors = [f"/spec must have required property '{key}'" for key in rules.required if key not in spec]
    for key in rules.strings:
        if key in spec and not (isinstance(spec[key], str) and spec[key]):
            errors.append(f"/spec/{key} must be a non-empty string")
    for key in rules.string_lists:
        value = spec.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            errors.append(f"/spec/{key} must be an array of non-empty strings")
    if errors:
        return errors
    namespace = entity["metadata"].get("namespace") or DEFAULT_NAMESPACE
    for field, default_kind in rules.refs.items():
        value = spec.get(field)
        for ref in value if isinstance(value, list) else ([] if value is None else [value]):
            try:
                parse_entity_ref(ref, default_kind, namespace)
            except RefError as exc:
                errors.append(f"spec.{field}: {exc}")
    return errors
