"""``python -m genbench.cli``, the same as ``python -m genbench`` and the ``genbench`` command."""

import sys

from genbench.cli import main

sys.exit(main())
