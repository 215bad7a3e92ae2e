"""`python -m aae_desktop` runs the same entry point as the `aae-desktop` command."""
from aae_desktop.app import main

raise SystemExit(main())
