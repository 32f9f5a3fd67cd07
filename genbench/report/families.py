"""Model families and the order of every table's columns (the lecture's marks beside them: ``lecture``).

The lecture's columns are families (GANs, VAEs, Flows, Diffusion); genbench's are models, grouped by the family
each model declares (``GenerativeModel.family``), which its records carry (the ``family`` column of metrics.csv).
Columns go in the order the lecture builds the families up (``FAMILY_ORDER``: classical, autoencoders, VAEs, GANs,
flows, diffusion), then any other declared family in order of appearance, then the models that declare none (the
user's own: ``OTHER``), then the reference columns.
"""

from __future__ import annotations

from collections.abc import Mapping

from genbench.records import REFERENCE_FAMILY, REFERENCES

FAMILY_ORDER = ("classical", "autoencoders", "VAEs", "GANs", "flows", "diffusion")
OTHER, REFERENCE = "other models", REFERENCE_FAMILY

Families = Mapping[str, str]
"""A column label → the family its records declare (empty or absent: none declared)."""


def family_of(label: str, families: Families) -> str:
    if label in REFERENCES:
        return REFERENCE
    return families.get(label) or OTHER


def by_family(models: list[str], families: Families) -> list[str]:
    """``models`` in family order, the run's order kept within a family."""
    declared = [family_of(m, families) for m in models]
    extra = [f for f in dict.fromkeys(declared) if f not in (*FAMILY_ORDER, OTHER, REFERENCE)]
    order = [*FAMILY_ORDER, *extra, OTHER, REFERENCE]
    return sorted(models, key=lambda m: order.index(family_of(m, families)))


def family_groups(models: list[str], families: Families) -> list[tuple[str, list[str]]]:
    """(family, its models) for each run of neighbouring ``models`` of one family, in order."""
    groups: list[tuple[str, list[str]]] = []
    for model in models:
        family = family_of(model, families)
        if groups and groups[-1][0] == family:
            groups[-1][1].append(model)
        else:
            groups.append((family, [model]))
    return groups


def family_line(models: list[str], families: Families) -> str:
    """``classical: naive-bayes, pca · VAEs: vae · …`` for the models of a table."""
    return " · ".join(f"{family}: {', '.join(names)}" for family, names in family_groups(models, families))
