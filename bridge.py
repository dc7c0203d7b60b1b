#!/usr/bin/env python3
"""carnet2mqtt: run ``python bridge.py --help`` for the command line."""

import sys

from carnet.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
