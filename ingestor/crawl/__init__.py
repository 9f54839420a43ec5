"""One crawl of one Palette instance: lists, details, outcomes per part.

Imports ``palette``, ``catalog``, ``store``, ``errors`` and ``config``; ``snapshot`` imports nothing of ours.
"""
