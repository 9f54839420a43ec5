"""The operator console at ``/``: server-rendered pages over the store, small static assets, no CDN.

``app`` builds the router and the page context; ``identity`` signs operators in with the same tokens as the
API (kept sealed in an ``HttpOnly`` cookie); one ``views_*`` module per page. Imports ``store``, ``auth``,
``config``, ``scheduler``, ``catalog.render`` and ``logging`` of ours.
"""
