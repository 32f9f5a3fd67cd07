"""Infrastructure: what a run needs from the machine and the file system, knowing nothing of what models or
metrics mean. Atomic writes, the cache, the run directory's files, the environment record, seeds and
generators, devices, threads, progress, and small helpers for numbers, figures, images and ODEs. It imports
nothing of genbench outside this package but its errors and records (``tests/test_layers.py`` checks)."""
