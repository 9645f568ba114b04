"""The live web view (placeholder)."""

from __future__ import annotations

from typing import Any

from .service import ServedWorkflows


def web_routes(served: ServedWorkflows) -> list[Any]:
    return []
