"""The HTTP surface: catalog (Backstage URL location), status and probes. Thin: reads the store, asks the
scheduler; no SQL and no Palette calls here. ``app.create_app`` builds it."""
