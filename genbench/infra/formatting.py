"""Numbers as people read them: a value with its uncertainty, to the digits the uncertainty allows."""

from __future__ import annotations

import math


def decimals_for(uncertainty: float, significant: int = 2, most: int = 6) -> int | None:
    """Decimals that show ``significant`` digits of the uncertainty (None when it is not positive)."""
    if not (math.isfinite(uncertainty) and uncertainty > 0):
        return None
    return min(most, max(0, significant - 1 - math.floor(math.log10(uncertainty))))


def format_estimate(value: float, uncertainty: float = math.nan, *, plus_minus: str = " ± ",
                    significant: int = 2) -> str:
    """``-31.2 ± 0.41``; a value without uncertainty to 4 significant digits; ``-inf`` as is."""
    if not math.isfinite(value):
        return str(value)
    decimals = decimals_for(uncertainty, significant)
    if decimals is None:
        return f"{value:.4g}"
    return f"{value:.{decimals}f}{plus_minus}{uncertainty:.{decimals}f}"
