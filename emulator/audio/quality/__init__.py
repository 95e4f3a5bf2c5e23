"""Listening-quality scores of received voice: the E-model (cheap, from loss and delay) and
full-reference metrics of the audio itself (`full.py`, with the `[quality]` extra)."""
