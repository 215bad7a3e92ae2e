"""Add-ons: LoRA and textual-inversion files, what kind each is, resolving prompt tags to files, and
putting them on a loaded pipeline."""
