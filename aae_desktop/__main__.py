"""`python -m aae_desktop` runs the same entry point as the `aae-desktop` command."""
from aae_desktop.app import main

if __name__ == "__main__":  # not when the engine process (spawned) imports its parent's main module
    raise SystemExit(main())
