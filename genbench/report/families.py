"""Model families and the order of every table's columns (the lecture's marks beside them: ``lecture``).

The lecture's columns are families (GANs, VAEs, Flows, Diffusion); genbench's are models, grouped here by family
in the order the lecture builds them up: classical, autoencoders, VAEs, GANs, flows, diffusion; then any other
model (the user's own), then the reference columns. A model's family is found from its name as registered
(``vae:latent_dim=2`` is a VAE).
"""

from __future__ import annotations

from genbench.records import REFERENCES

FAMILIES: dict[str, tuple[str, ...]] = {
    "classical": ("naive-bayes", "pca"),
    "autoencoders": ("ae",),
    "VAEs": ("vae", "beta-vae"),
    "GANs": ("gan",),
    "flows": ("flow",),
    "diffusion": ("diffusion",),
}
OTHER, REFERENCE = "other models", "reference"



def registered_name(label: str) -> str:
    """The registered name of a column label: ``vae:latent_dim=2`` → ``vae``."""
    return label.split(":", 1)[0]


def family_of(label: str) -> str:
    if label in REFERENCES:
        return REFERENCE
    return next((family for family, names in FAMILIES.items() if registered_name(label) in names), OTHER)


def by_family(models: list[str]) -> list[str]:
    """``models`` in family order, the run's order kept within a family."""
    order = [*FAMILIES, OTHER, REFERENCE]
    return sorted(models, key=lambda m: order.index(family_of(m)))


def family_groups(models: list[str]) -> list[tuple[str, list[str]]]:
    """(family, its models) for each run of neighbouring ``models`` of one family, in order."""
    groups: list[tuple[str, list[str]]] = []
    for model in models:
        if groups and groups[-1][0] == family_of(model):
            groups[-1][1].append(model)
        else:
            groups.append((family_of(model), [model]))
    return groups


def family_line(models: list[str]) -> str:
    """``classical: naive-bayes, pca · VAEs: vae · …`` for the models of a table."""
    return " · ".join(f"{family}: {', '.join(names)}" for family, names in family_groups(models))
