"""Which way is better, per metric name in metrics.csv: one table that marks, bold-facing and the
regression gate all read."""

from __future__ import annotations

LOWER_IS_BETTER = frozenset({
    "fid", "kid", "bits_per_dim", "smoothness_mean", "smoothness_p99",
})
HIGHER_IS_BETTER = frozenset({
    "log_likelihood", "is", "precision", "recall", "density", "coverage", "modes_captured", "high_quality",
    "samples_per_second", "likelihood_examples_per_second", "mig", "factor_vae_score",
})


def higher_is_better(metric: str) -> bool | None:
    """True, False, or None when the metric has no better direction (or is unknown)."""
    base = metric.split("[", 1)[0]
    if base in HIGHER_IS_BETTER:
        return True
    if base in LOWER_IS_BETTER:
        return False
    return None
