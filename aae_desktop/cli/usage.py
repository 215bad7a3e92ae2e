"""The CLI's one word for a user mistake, below every subcommand (they raise it; the dispatcher reports it)."""
from __future__ import annotations


class UsageError(Exception):
    """A user mistake: reported as one line, exit code 2."""
