"""``python -m genbench.cli``, the same as ``python -m genbench`` and the ``genbench`` command."""

from genbench.cli import entry

entry()
