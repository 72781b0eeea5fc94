"""``python -m bnn_core``: see :mod:`bnn_core.cli`."""

import sys

from .cli import main

sys.exit(main())
