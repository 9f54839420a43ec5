"""Live access to Palette for the surfaces (plugin API, MCP): which instance, which credential, which client.

The one place that resolves "which instance, which token". Imports ``palette``, ``auth``, ``config``
and ``errors`` of ours; no web framework.
"""
