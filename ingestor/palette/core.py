"""The shared core of ``PaletteClient``: one ``Requester`` plus helpers that turn bodies into models.

Imports nothing of ours outside ``ingestor.palette``. Endpoint methods live in the ``*_calls``
modules; they call only the helpers here, never httpx directly.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import ValidationError

from ingestor.palette.errors import InvalidRequestError, NotFoundError, PaletteError, ProtocolError
from ingestor.palette.models.base import PaletteModel
from ingestor.palette.paging import Paginator, Where
from ingestor.palette.transport import JSON, Call, Context, Requester, parse_json

M = TypeVar("M", bound=PaletteModel)
Params = Mapping[str, str | int | bool]
# Every list endpoint pages at 50 at most (palette-api.md 1.6); a validating server rejects more.
MAX_PAGE_SIZE = 50


def choose(value: str, allowed: Sequence[str], what: str, ctx_path: str) -> str:
    """``value`` (case-insensitive) if it is in ``allowed``, else InvalidRequestError.

    The returned string is the allow-list's own, so no caller text ever reaches a URL template.
    """
    wanted = value.strip().lower() if isinstance(value, str) else ""
    for option in allowed:
        if option == wanted:
            return option
    raise InvalidRequestError(f"unsupported {what}; expected one of {', '.join(allowed)}", path=ctx_path)


def present(params: Mapping[str, str | bool | None]) -> dict[str, str | bool]:
    """The query parameters that were given (``None`` dropped); booleans as Palette spells them."""
    return {
        k: ("true" if v else "false") if isinstance(v, bool) else v
        for k, v in params.items()
        if v is not None
    }


def decode_kubeconfig(body: bytes, ctx: Context) -> str:
    """Raw YAML as is; a base64-encoded body decoded (the Go SDK does the same)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ctx.error(ProtocolError, "Palette sent a kubeconfig that is not UTF-8 text") from None
    compact = "".join(text.split())
    if not compact:
        raise ctx.error(NotFoundError, "Palette returned an empty kubeconfig")
    if ":" not in compact:  # YAML always has a colon; base64 never does.
        try:
            return base64.b64decode(compact, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            pass
    return text


class ClientCore:
    """State and helpers shared by the endpoint mixins."""

    _requester: Requester

    @property
    def instance(self) -> str | None:
        return self._requester.instance

    def _call(
        self,
        method: str,
        template: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Params | None = None,
        body: Any = None,
        project_uid: str | None = None,
        idempotent: bool = True,
        accept: str = JSON,
    ) -> Call:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return Call(method, template, dict(path or {}), clean, body, project_uid, idempotent, accept)

    async def _json(self, call: Call) -> Any:
        response = await self._requester.send(call)
        return parse_json(response, self._requester.context(call))

    async def _text(self, call: Call) -> str:
        """A kubeconfig-like download (octet-stream), decoded to text."""
        response = await self._requester.send(call)
        return decode_kubeconfig(response.content, self._requester.context(call))

    def _fail(self, call: Call, message: str, cls: type[PaletteError] = ProtocolError) -> PaletteError:
        return self._requester.context(call).error(cls, message)

    def _parse(self, cls: type[M], data: Any, call: Call) -> M:
        """``data`` as ``cls``; ProtocolError (naming field paths only, never values) otherwise."""
        if not isinstance(data, dict):
            raise self._fail(call, f"Palette sent no JSON object for {cls.__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            where = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors()[:5])
            raise self._fail(call, f"unexpected {cls.__name__} shape at {where}") from None

    async def _one(self, cls: type[M], call: Call) -> M:
        return self._parse(cls, await self._json(call), call)

    async def _list(self, cls: type[M], call: Call, keys: Sequence[str] = ("items",)) -> list[M]:
        """An unpaged list: a bare array or an object holding it under one of ``keys``."""
        data = await self._json(call)
        items: Any = data
        if isinstance(data, dict):
            key = next((k for k in keys if k in data), None)
            if key is None:
                raise self._fail(call, f"Palette sent no {'/'.join(keys)!r} list")
            items = data[key]
        if items is None:
            items = []
        if not isinstance(items, list):
            raise self._fail(call, "Palette sent a list that is not an array")
        return [self._parse(cls, item, call) for item in items]

    def _paged(
        self,
        cls: type[M],
        method: str,
        template: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Params | None = None,
        body: Any = None,
        project_uid: str | None = None,
    ) -> Paginator[M]:
        """A paginator: ``limit`` and ``continue`` in the query; a POST body resent unchanged."""
        options = self._requester.options
        frozen_body = copy.deepcopy(body)
        base = {k: v for k, v in (params or {}).items() if v is not None}
        base["limit"] = max(1, min(options.page_size, MAX_PAGE_SIZE))
        # Build the first call eagerly so bad path parameters fail here, not on first iteration.
        first = self._call(
            method, template, path=path, params=base, body=frozen_body, project_uid=project_uid
        )
        self._requester.urls.url(template, dict(first.path_params))

        async def fetch(token: str | None) -> Any:
            call = first if token is None else replace(first, params={**base, "continue": token})
            return await self._json(call)

        where = Where(method, template, self.instance)
        return Paginator(
            fetch, lambda item: self._parse(cls, item, first), where=where, max_pages=options.max_pages
        )
