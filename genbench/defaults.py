"""What ``genbench run`` does when asked nothing: one place, importable without torch. The default models
and metrics are said where they are registered (``genbench.catalog``, ``default=True``)."""

DEFAULT_DATASET = "digits"
DEFAULT_SEEDS = (0,)
