"""Models: which loader a source needs, single-file checkpoints, families, devices and precision, the
Hugging Face cache and downloads, the app's model library, and the tiny test models."""
