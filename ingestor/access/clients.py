"""One pooled Palette client per instance, shared by every live call of every surface.

Callers get a sibling bound to the credential they resolved (``with_credential``): same pool,
limiter and counters, another ``Authorization``. An ``observer`` hears of every call of every client
(the service's metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ingestor.config import Settings
from ingestor.config.models import EnvironmentSettings
from ingestor.palette.client import PaletteClient, Transport
from ingestor.palette.credentials import ApiKey, Credential
from ingestor.palette.stats import CallEvent

CallObserver = Callable[[str, CallEvent], None]
"""``observer(instance, event)``: one exchange or retry of an instance's live client."""


class PaletteClients:
    """Lazily built base clients (authenticated with the instance's ``apiToken``), closed together."""

    def __init__(
        self, settings: Settings, *, transport: Transport | None = None, observer: CallObserver | None = None
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._observer = observer
        self._clients: dict[str, PaletteClient] = {}

    def __repr__(self) -> str:
        return f"PaletteClients(instances={sorted(self._clients)})"

    def base(self, env: EnvironmentSettings) -> PaletteClient:
        """The instance's client with its static API key."""
        key = env.name or ""
        client = self._clients.get(key)
        if client is None:
            client = PaletteClient(
                env.url,
                ApiKey(env.api_token.get_secret_value()),
                options=self._settings.palette.client_options(),
                instance=env.name,
                transport=self._transport,
            )
            if self._observer is not None:
                client.stats.add_observer(partial(self._observer, key))
            self._clients[key] = client
        return client

    def with_credential(self, env: EnvironmentSettings, credential: Credential) -> PaletteClient:
        """A client for ``env`` acting with ``credential`` (an API key or a user's session token)."""
        base = self.base(env)
        if isinstance(credential, ApiKey) and credential == ApiKey(env.api_token.get_secret_value()):
            return base
        return base.with_credential(credential)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
