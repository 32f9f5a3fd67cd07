"""Disentanglement of an encoder's codes against a dataset's known factors: MIG and the FactorVAE score.

Input: codes (N, d), the encoder's output (a VAE's posterior mean) for N examples, and their
ground-truth factors (N, K) as integer indices (``Split.factors``, e.g. ``shapes``).

**Mutual information gap** (Chen et al. 2018, "Isolating sources of disentanglement in VAEs",
eq. 8). Each code dimension is discretised into ``bins`` = 20 equal-width bins between its
minimum and maximum over the N codes (the histogram discretisation of disentanglement_lib,
Locatello et al. 2019; a constant dimension falls into one bin). With I the plug-in mutual
information of the empirical joint distribution (nats) and H the factor's entropy,

    MIG = (1/K) Σ_k [I(z_{j(1)}; v_k) − I(z_{j(2)}; v_k)] / H(v_k),

where j(1), j(2) are the dimensions with the largest and second-largest I with factor k. It is
1 when every factor is captured by one dimension alone (and completely), 0 when the two best
dimensions know equally much about every factor. The plug-in estimate is biased upwards by about
(bins − 1)(values − 1)/(2N) nats per pair, which largely cancels in the gap.

**FactorVAE score** (Kim & Mnih 2018, "Disentangling by factorising", §4). Each dimension is
divided by its standard deviation over the N codes; dimensions of zero variance are inactive (as
disentanglement_lib's default). A vote: pick a factor k uniformly, fix it at the value of a random
example, take ``batch`` = 64 distinct examples that share that value (the other factors vary as
the data has them: a conditional draw from the N examples in place of rendering new ones), and
vote (argmin_j Var_batch(z_j / s_j), k). A majority-vote classifier maps each dimension to the
factor it got most votes for on ``votes`` training votes; the score is its accuracy on as many
evaluation votes. Training and evaluation votes come from two disjoint random halves of the
examples: a group of examples sharing a value is the same few rows every time it is drawn, so
its lowest-variance dimension is partly a property of those rows, which a classifier trained on
votes from the same rows learns (on shapes' 519 test examples, codes independent of the factors
then scored 0.27 to 0.35). The score is 1 when fixing a factor always stills one dimension of its
own. Unlike MIG its floor is not 0: votes from a useless representation are right by chance, 1/K
of the time (0.2 on shapes' five factors); a representation with no active dimension scores 0.
"""

from __future__ import annotations

import dataclasses

import torch

from genbench.config import Config, require, require_positive
from genbench.data.splits import Data
from genbench.metric import EvalContext, Metric
from genbench.metrics.bootstrap import bootstrap
from genbench.metrics.samples import DEFAULT_BOOTSTRAP, SPLITS, encode_all, figure_record
from genbench.model import Capability, GenerativeModel
from genbench.outputs import HIGHER, Output
from genbench.records import Record

OUTPUTS = (
    Output("mig", "MIG", better=HIGHER, headline=True),
    Output("factor_vae_score", "FactorVAE score", better=HIGHER, headline=True),
)
FIGURES = tuple(output.name for output in OUTPUTS)


# ------------------------------------------------------------------------------------------ kernel
def discretize(codes: torch.Tensor, bins: int = 20) -> torch.Tensor:
    """(N, d) real codes → (N, d) int64 bin indices 0 … bins − 1: equal-width bins from each
    dimension's minimum to its maximum (the maximum falls into the last bin)."""
    codes = codes.double()
    low, high = codes.min(0).values, codes.max(0).values
    width = (high - low) / bins
    index = torch.floor((codes - low) / torch.where(width > 0, width, torch.ones_like(width)))
    return index.clamp(0, bins - 1).long()


def joint_distribution(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Empirical joint distribution (A, B) of two (N,) non-negative integer variables."""
    size_a, size_b = int(a.max()) + 1, int(b.max()) + 1
    counts = torch.bincount(a.long() * size_b + b.long(), minlength=size_a * size_b)
    return counts.reshape(size_a, size_b).double() / len(a)


def mutual_information(a: torch.Tensor, b: torch.Tensor) -> float:
    """Plug-in I(a; b) = Σ p(a, b) log [p(a, b) / (p(a) p(b))] in nats, for (N,) integer variables."""
    joint = joint_distribution(a, b)
    outer = joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True)
    seen = joint > 0
    return float((joint[seen] * (joint[seen] / outer[seen]).log()).sum())


def entropy(a: torch.Tensor) -> float:
    """Plug-in H(a) = −Σ p(a) log p(a) in nats, for an (N,) integer variable."""
    p = torch.bincount(a.long()).double() / len(a)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


@dataclasses.dataclass(frozen=True)
class MIGResult:
    score: float
    gaps: list[float]
    """(I(z_{j(1)}; v_k) − I(z_{j(2)}; v_k)) / H(v_k) per factor."""
    best_dims: list[int]
    """j(1) per factor."""
    information: torch.Tensor
    """I(z_j; v_k) in nats, (d, K)."""
    entropies: list[float]


def mig(codes: torch.Tensor, factors: torch.Tensor, bins: int = 20) -> MIGResult:
    """The mutual information gap of codes (N, d) against factor indices (N, K); see the module."""
    if len(codes) != len(factors):
        raise ValueError(f"{len(codes)} codes for {len(factors)} factor rows")
    binned = discretize(codes, bins)
    factors = factors.long()
    entropies = [entropy(v) for v in factors.T]
    if min(entropies) <= 0:
        raise ValueError("a factor takes one value on these examples: its entropy is 0 and MIG undefined")
    information = torch.tensor([[mutual_information(z, v) for v in factors.T] for z in binned.T],
                               dtype=torch.float64).reshape(codes.shape[1], factors.shape[1])
    top = information.topk(min(2, len(information)), dim=0)
    second = top.values[1] if len(information) > 1 else torch.zeros_like(top.values[0])
    gaps = ((top.values[0] - second) / torch.tensor(entropies, dtype=torch.float64)).tolist()
    return MIGResult(sum(gaps) / len(gaps), gaps, top.indices[0].tolist(), information, entropies)


@dataclasses.dataclass(frozen=True)
class FactorVAEResult:
    score: float
    """Accuracy of the majority-vote classifier on the evaluation votes."""
    train_accuracy: float
    active: int
    """Dimensions with non-zero variance."""
    batch: int
    """Examples per vote (``batch``, or fewer where a factor value has fewer examples)."""


def factor_votes(normalised: torch.Tensor, factors: torch.Tensor, n_votes: int, batch: int,
                 generator: torch.Generator) -> torch.Tensor:
    """Votes (dimension, factor) as a count matrix (d, K): each from ``batch`` distinct rows that
    share one factor's value (see the module docstring); every group needs ``batch`` rows or more."""
    n, k_factors = factors.shape
    factor = torch.randint(k_factors, (n_votes,), generator=generator)
    value = factors[torch.randint(n, (n_votes,), generator=generator), factor]
    counts = torch.zeros(normalised.shape[1], k_factors, dtype=torch.long)
    for k in range(k_factors):
        for v in value[factor == k].unique():
            group = (factors[:, k] == v).nonzero().squeeze(1)
            draws = int(((factor == k) & (value == v)).sum())
            rows = group[torch.rand(draws, len(group), generator=generator).topk(batch, dim=1, largest=False).indices]
            dims = normalised[rows].var(dim=1, unbiased=True).argmin(dim=1)
            counts[:, k] += torch.bincount(dims, minlength=normalised.shape[1])
    return counts


def factor_vae_score(codes: torch.Tensor, factors: torch.Tensor, generator: torch.Generator, *,
                     batch: int = 64, votes: int = 1000) -> FactorVAEResult:
    """The FactorVAE score of codes (N, d) against factor indices (N, K); see the module. Training
    and evaluation votes come from two disjoint random halves of the N examples."""
    if len(codes) != len(factors):
        raise ValueError(f"{len(codes)} codes for {len(factors)} factor rows")
    codes, factors = codes.double(), factors.long()
    scale = codes.std(dim=0, unbiased=True)
    active = scale > 0
    halves = torch.randperm(len(codes), generator=generator).tensor_split(2)
    batch = min(batch, *(int(torch.unique(v, return_counts=True)[1].min()) for half in halves
                         for v in factors[half].T))
    if not active.any() or batch < 2:
        return FactorVAEResult(0.0, 0.0, int(active.sum()), batch)
    normalised = codes[:, active] / scale[active]
    train, evaluation = (factor_votes(normalised[half], factors[half], votes, batch, generator) for half in halves)
    classifier = train.argmax(dim=1)  # each dimension's majority factor
    right = torch.arange(len(classifier))

    def accuracy(counts: torch.Tensor) -> float:
        return float(counts[right, classifier].sum()) / float(counts.sum())

    return FactorVAEResult(accuracy(evaluation), accuracy(train), int(active.sum()), batch)


# ------------------------------------------------------------------------------------- the adapter
@dataclasses.dataclass(frozen=True)
class DisentanglementOptions(Config):
    split: str = "test"
    """The examples whose codes are scored against their factors."""
    bins: int = 20
    """MIG: equal-width bins per code dimension."""
    votes: int = 1000
    """FactorVAE score: training votes, and as many evaluation votes."""
    vote_batch: int = 64
    """FactorVAE score: examples sharing the fixed factor's value per vote (L)."""
    bootstrap: int = DEFAULT_BOOTSTRAP
    """Replicates (examples resampled, votes redrawn) for the standard errors; 0: none."""
    batch_size: int = 500

    def validate(self) -> None:
        require(self.split in SPLITS, f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        require(self.bins >= 2, f"bins must be at least 2, got {self.bins}")
        require(self.vote_batch >= 2, f"vote_batch must be at least 2, got {self.vote_batch}")
        require_positive(votes=self.votes, batch_size=self.batch_size)
        require(self.bootstrap == 0 or self.bootstrap >= 2,
                f"bootstrap needs at least 2 replicates for a spread (or 0 for none), got {self.bootstrap}")


class Disentanglement(Metric):
    """MIG and the FactorVAE score of the encoder's codes, on data with known factors (shapes)."""

    name = "disentanglement"
    outputs = OUTPUTS
    config_class = DisentanglementOptions
    requires_any = frozenset({Capability.ENCODER})

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        if data.split(self.config.split).factors is None:
            return f"{data.name} has no ground-truth factors to score codes against (shapes has)"
        return None

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        o: DisentanglementOptions = self.config
        split = data.split(o.split)
        codes = encode_all(model, split.x, o.batch_size).double()
        if not torch.isfinite(codes).all():
            return self.failed(f"{model.name} encoded {split} to non-finite codes")
        factors = split.factors.long().cpu()
        votes = context.generator(f"{self.name}/votes")

        def figures(rows: torch.Tensor) -> dict[str, float]:
            return {"mig": mig(codes[rows], factors[rows], o.bins).score,
                    "factor_vae_score": factor_vae_score(codes[rows], factors[rows], votes, batch=o.vote_batch,
                                                         votes=o.votes).score}

        gap = mig(codes, factors, o.bins)
        fvae = factor_vae_score(codes, factors, votes, batch=o.vote_batch, votes=o.votes)
        spreads = bootstrap(figures, [len(codes)], o.bootstrap, context.generator(f"{self.name}/bootstrap"),
                            {"mig": gap.score, "factor_vae_score": fvae.score})
        names = list(data.info.factor_names or (f"factor{k}" for k in range(factors.shape[1])))
        common = {"split": split.name, "code_dim": codes.shape[1], "factors": names}
        mig_details = {**common, "bins": o.bins, "discretisation": "equal-width bins from min to max per dimension",
                       "gap_per_factor": dict(zip(names, gap.gaps)),
                       "best_dim_per_factor": dict(zip(names, gap.best_dims)),
                       "factor_entropy_nats": dict(zip(names, gap.entropies)),
                       "mutual_information_nats": [[round(v, 6) for v in row] for row in gap.information.tolist()]}
        fvae_details = {**common, "votes": o.votes, "vote_batch": fvae.batch, "active_dims": fvae.active,
                        "train_accuracy": fvae.train_accuracy, "chance": 1 / len(names)}
        fields = dict(n=len(codes))
        return [figure_record("mig", gap.score, spreads.get("mig"), mig_details,
                              estimator=f"mig, {o.bins}-bin histogram (Chen et al. 2018)", **fields),
                figure_record("factor_vae_score", fvae.score, spreads.get("factor_vae_score"), fvae_details,
                              estimator=f"majority vote, L={fvae.batch}, {o.votes}+{o.votes} votes (Kim & Mnih 2018)",
                              **fields)]
