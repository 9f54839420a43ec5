"""Console page: changes (being built)."""

from __future__ import annotations

from fastapi import APIRouter

from ingestor.console.app import ConsoleDeps


def register(router: APIRouter, deps: ConsoleDeps) -> None:
    """Add this page's routes to the console router."""
    del router, deps
