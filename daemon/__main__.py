"""`python -m studbook.daemon`: what `studbook serve` runs."""

from __future__ import annotations

import sys

from studbook.daemon import config, server

if __name__ == "__main__":
    sys.exit(server.main(config.load(sys.argv[1:])))
