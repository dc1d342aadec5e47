"""``python -m simbench``: the command line.  Guarded, because worker processes (``--workers``)
import the main module again and must not start a second run."""
import sys

from simbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
