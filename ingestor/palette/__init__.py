"""The Palette REST API adapter: the only package that talks HTTP to Palette.

Imports nothing of ours outside ``ingestor.palette``.
"""
