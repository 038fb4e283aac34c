"""`claims dashboard`: a read-only web page over the chain, for insurers and auditors.

- ``snapshot``: what the pages show, read from the chain's events once per new block;
- ``markup``: escaping, the layout, tables and forms (server-rendered HTML, no script);
- ``charts``: the pool chart, drawn as SVG on the server;
- ``plans``, ``claims``, ``reviews``, ``members``, ``reconciliation`` (and ``labels``):
  the pages;
- ``watcher``: the chain and its latest snapshot, re-read on a new block;
- ``site``: one answer per page; ``server``: the aiohttp application and ``serve``.
"""

from __future__ import annotations

from claimsengine.dashboard.server import DEFAULT_PORT, Dashboard, make_app, serve

__all__ = ["DEFAULT_PORT", "Dashboard", "make_app", "serve"]
