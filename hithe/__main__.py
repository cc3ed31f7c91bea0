"""``python3 -m hithe`` runs the CLI (main() returns the exit status)."""
import sys

from hithe.cli.main import main

sys.exit(main())
