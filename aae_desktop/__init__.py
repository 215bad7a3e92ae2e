"""Attend-and-Excite Desktop: Stable Diffusion that keeps every word the artist clicks."""

__version__ = "0.1.0"
