"""``python -m vi_lib.vae``: the command-line trainer."""

import sys

from .cli import main

sys.exit(main())
