"""Rendering results: ``human`` (rich) and ``json`` (machine formats, documented in docs/json.md)."""
