"""Fixtures for the Palette client tests: the session-wide stub server and a client factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ingestor.palette.client import PaletteClient
from ingestor.palette.credentials import ApiKey, Credential

from .stub import TOKEN, ClientFactory, PaletteStub, fast_options


@pytest.fixture(scope="session")
def _stub_server() -> Iterator[PaletteStub]:
    stub = PaletteStub()
    stub.start()
    yield stub
    stub.stop()


@pytest.fixture
def stub(_stub_server: PaletteStub) -> Iterator[PaletteStub]:
    _stub_server.reset()
    yield _stub_server
    _stub_server.reset()


@pytest.fixture
async def make_client(stub: PaletteStub) -> AsyncIterator[ClientFactory]:
    """Build clients against the stub (closed after the test)."""
    made: list[PaletteClient] = []

    def factory(
        credential: Credential | None = None,
        *,
        base_url: str | None = None,
        instance: str | None = "test",
        **kw: Any,
    ) -> PaletteClient:
        options = kw.pop("options", None) or fast_options(**kw.pop("option_overrides", {}))
        client = PaletteClient(
            base_url or stub.url, credential or ApiKey(TOKEN), options=options, instance=instance, **kw
        )
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.aclose()
