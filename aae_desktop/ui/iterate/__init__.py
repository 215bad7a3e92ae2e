"""Iteration tools: A/B, seed sweeps, heat maps and loss curves, the result strip."""
