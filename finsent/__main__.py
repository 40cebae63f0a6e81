"""`python -m finsent` runs the CLI (used by `finsent run` to start its child services)."""

from finsent.cli import main

main()
