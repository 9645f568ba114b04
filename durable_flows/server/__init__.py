"""The HTTP server: llama-agents-server's API and a live web view over the journal.

Owns: the ASGI app (:func:`create_app`), the protocol's endpoints and event
envelopes, the web view's pages and static files, and the in-process worker
that executes served runs. Needs the ``server`` extra (Starlette, uvicorn).

May import: the faces (workflow, events, errors, representation, timeline),
``storage``, ``worker``, ``runtime.outcome`` and ``runtime.records`` (reading
journal rows), and the renderings shared with the command line in ``views``
(never ``cli``). Nothing below imports it.
"""

from __future__ import annotations

from .app import create_app
from .service import ServedWorkflows

__all__ = ["ServedWorkflows", "create_app"]
