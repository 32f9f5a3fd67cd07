"""Baseline models, one module per family, composed from the shared blocks in ``nets``."""
