"""Bundled data files (tokenizer, model configs, icons); installed as aae_desktop.resources."""
