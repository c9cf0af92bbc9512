"""``python -m latte_loadtests``."""

import sys

from latte_loadtests.cli import main

if __name__ == "__main__":
    sys.exit(main())
