"""Similarity stages: shingle -> signature -> candidates -> verify, and sentence alignment."""
