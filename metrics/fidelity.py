"""Sample quality and coverage in a feature space: IS, FID, KID, precision/recall and density/coverage.

Stages (pure functions below, pinned by tests; ``Fidelity`` is the thin adapter):

1. samples: ``n`` draws from the model, in batches, in memory (never through image files);
2. features: torch-fidelity's ``get_featuresdict_from_dataset`` runs the extractor (torch-fidelity's
   own Inception, or genbench's domain classifier / raw coordinates registered with it) over the
   samples, converted once by the extractor's ``to_input``; the real reference set's features
   and Gaussian statistics are cached on disk by content (``genbench.infra.cache``);
3. figures, each from one source:

   - IS: torch-fidelity's ``isc_features_to_metric`` on the logits (Salimans et al. 2016);
   - KID: torch-fidelity's ``kid_features_to_metric`` (Bińkowski et al. 2018; cubic polynomial
     kernel), on the whole sets up to 4 096 samples, else the mean over 100 subsets of 1 000
     (torch-fidelity's default), as ``kid_subsets_for`` explains;
   - precision and recall (Kynkäänniemi et al. 2019, k = 3) and density and coverage (Naeem et al.
     2020, k = 5): ``genbench.metrics.neighbourhoods``, from shared distance passes with the real
     set's radii cached beside its features; precision and recall equal torch-fidelity's
     ``prc_features_to_metric`` bit for bit, density and coverage the reference implementation
     ``prdc``;
   - FID: genbench's ``frechet_distance`` on float64 statistics of torch-fidelity's features.
     torch-fidelity's own ``fid_statistics_to_metric`` takes the square root of Σ₁Σ₂ through
     ``numpy.linalg.eigvals`` and drops imaginary parts, which goes wrong silently when a
     covariance is singular or ill-conditioned (as the domain classifier's post-ReLU features
     are, with units that never fire); genbench's takes symmetric square roots by ``eigh`` and
     the nuclear norm of their product by SVD, and refuses a covariance with a negative
     eigenvalue beyond rounding (``genbench.metrics.frechet``). Where torch-fidelity's route is
     accurate the two agree to 10⁻⁶ (tests); the features are torch-fidelity's.

Sample-size rules: FID needs more samples than feature dimensions on both sides (n > D), or the
covariance is singular; below that the record is n/a and says to use KID (unbiased at any n) or
a larger n. The other figures need a few more samples than their neighbourhood sizes.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import torch

from genbench.config import require, require_positive
from genbench.data.splits import Data
from genbench.features.contract import FeatureExtractor, PreparedExtractor
from genbench.metric import EvalContext
from genbench.metrics.bootstrap import bootstrap
from genbench.metrics.coverage import expected_coverage
from genbench.metrics.feature_space import (
    FeatureSet,
    FeatureSpace,
    InSpaces,
    Reference,
    extract_features,
    in_space,
    space_names,
)
from genbench.metrics.frechet import GaussianStatistics, frechet_to
from genbench.metrics.neighbourhoods import NEIGHBOURHOOD_FIGURES, RealBalls, neighbourhood_figures, real_balls
from genbench.metrics.samples import SampleOptions, figure_record, sample_provenance
from genbench.model import Capability, GenerativeModel
from genbench.outputs import HIGHER, LOWER, Output
from genbench.records import Record

log = logging.getLogger(__name__)

OUTPUTS = (
    Output("is", "IS", better=HIGHER, headline=True),
    Output("fid", "FID", better=LOWER, headline=True),
    Output("kid", "KID", better=LOWER, headline=True),
    Output("precision", "precision", better=HIGHER, headline=True),
    Output("recall", "recall", better=HIGHER, headline=True),
    Output("density", "density", better=HIGHER, headline=True),
    Output("coverage", "coverage", better=HIGHER, headline=True),
)
FIGURES = tuple(output.name for output in OUTPUTS)
OWN_BALLS = frozenset({"recall"})
"""Figures built on the generated points' own k-NN balls: their bootstrap keeps each drawn row once."""
FIDELITY_SEED = 2020
"""torch-fidelity's default ``rng_seed`` (IS shuffling, KID subsets); a run's seed is added to it."""
PRC_BATCH = 4096
"""Rows of distances torch-fidelity's precision/recall holds at once (its memory-saving variant)."""
KID_WHOLE_SETS_MAX = 4096
"""Largest sets whose KID is computed in one piece by default (three 4096² kernel matrices, 200 MB)."""


@dataclasses.dataclass(frozen=True)
class FidelityOptions(SampleOptions):
    extractor: str = "auto"
    """A registered extractor, or auto: raw for continuous vectors; for labelled images inception
    when Inception weights are given (--inception-weights, $GENBENCH_INCEPTION_WEIGHTS), else domain.
    Several joined by + (inception+dinov2-vit-b-14) measure every figure in each; the first space's figures
    keep their names (the table's marks read them), the others' are named fid[dinov2-vit-b-14]."""
    k: int = 5
    """Neighbours for density and coverage (Naeem et al. 2020)."""
    prc_k: int = 3
    """Neighbours for precision and recall (Kynkäänniemi et al. 2019)."""
    kid_subsets: int = 100
    kid_subset_size: int | None = None
    """KID subsets' size (default: the whole sets up to 4 096 samples, else 1 000 as torch-fidelity)."""
    isc_splits: int = 10
    reference: str | None = None
    """A reference statistics file (``genbench stats``, or pytorch-fid's mu/sigma .npz) to compare with,
    instead of the features of the split; it must match this run's extractor, n, split and dataset."""

    def validate(self) -> None:
        super().validate()
        space_names(self.extractor)
        require_positive(k=self.k, prc_k=self.prc_k, kid_subsets=self.kid_subsets, isc_splits=self.isc_splits)
        require(self.kid_subset_size is None or self.kid_subset_size >= 2,
                f"kid_subset_size must be at least 2, got {self.kid_subset_size}")


# ------------------------------------------------------------------------------------------ stages
def inception_score(logits: torch.Tensor, splits: int, rng_seed: int) -> tuple[float, float]:
    """torch-fidelity's IS: exp E[KL(p(y|x) ‖ p(y))] per split, mean and std over ``splits``."""
    # defers torch-fidelity
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    out = isc_features_to_metric(logits, splits, True, rng_seed)
    return out[KEY_METRIC_ISC_MEAN], out[KEY_METRIC_ISC_STD]


def kid_subsets_for(n_fake: int, n_real: int, subsets: int, subset_size: int | None) -> tuple[int, int]:
    """(subsets, size) for KID. KID is an unbiased U-statistic at any subset size, and the mean over
    all subsets of a size is the whole-set statistic, so subsets only trade variance for memory: by
    default (``subset_size`` None) the whole sets, up to ``KID_WHOLE_SETS_MAX``, else torch-fidelity's
    1 000. Size min(size, n_fake, n_real); one subset when that is both whole sets (more would repeat it)."""
    smallest = min(n_fake, n_real)
    if subset_size is None:
        subset_size = smallest if smallest <= KID_WHOLE_SETS_MAX else 1000
    size = min(subset_size, smallest)
    return (1 if size == n_fake == n_real else subsets), size


def kernel_inception_distance(fake: torch.Tensor, real: torch.Tensor, subsets: int, subset_size: int | None,
                              rng_seed: int) -> tuple[float, float]:
    """torch-fidelity's KID (unbiased MMD², kernel (x·y/D + 1)³): mean and std over subsets."""
    # defers torch-fidelity
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    subsets, size = kid_subsets_for(len(fake), len(real), subsets, subset_size)
    out = kid_features_to_metric(fake, real, kid_subsets=subsets, kid_subset_size=size, rng_seed=rng_seed,
                                 verbose=False)
    return out[KEY_METRIC_KID_MEAN], out[KEY_METRIC_KID_STD]


class WholeSetKernels:
    """KID's three kernel matrices on the whole generated (N) and reference (N) sets, computed once by
    torch-fidelity's ``kernel_poly``: a bootstrap replicate of a one-subset KID is then torch-fidelity's
    ``mmd2`` on the replicate's rows of them, which is what ``kid_features_to_metric`` computes on the
    resampled rows (up to the order of summation) without recomputing N² kernel values each time."""

    KERNEL = {"kid_kernel_poly_degree": 3, "kid_kernel_poly_gamma": None, "kid_kernel_poly_coef0": 1}

    def __init__(self, fake: torch.Tensor, real: torch.Tensor):
        from torch_fidelity.metric_kid import kernel_poly  # defers torch-fidelity

        f, r = fake.cpu().numpy(), real.cpu().numpy()
        self.ff, self.fr, self.rr = (kernel_poly(a, b, **self.KERNEL) for a, b in ((f, f), (f, r), (r, r)))

    @classmethod
    def applies(cls, n_fake: int, n_real: int, o: FidelityOptions) -> bool:
        """True when KID is one subset of both whole sets (then replicates can reuse the kernels)."""
        return kid_subsets_for(n_fake, n_real, o.kid_subsets, o.kid_subset_size) == (1, n_fake)

    def kid(self, rows: torch.Tensor) -> float:
        from torch_fidelity.metric_kid import mmd2  # defers torch-fidelity

        index = rows.numpy()
        return float(mmd2(self.ff[np.ix_(index, index)], self.fr[index], self.rr))


STATISTICS_ONLY = ("the reference statistics file holds only the Gaussian statistics (mu, sigma) that FID needs; "
                   "this figure needs the reference features (genbench stats keeps them)")


def fid_refusal(n_fake: int, n_real: int, prepared: PreparedExtractor) -> str | None:
    """Why FID cannot be had from these sample sizes (None when it can): it needs n > D on both sides (D of a
    block, where the space averages blocks)."""
    dim = prepared.frechet_dim
    if min(n_fake, n_real) > dim:
        return None
    return (f"FID needs more samples than feature dimensions for a full-rank covariance: n = {n_fake}, reference "
            f"{n_real}, {dim} dimensions ({prepared.name}); use KID, which is unbiased at any n, or "
            f"n ≥ {dim + 1} (papers use 50 000 for Inception FID)")


def refusals(n_fake: int, n_real: int | None, prepared: PreparedExtractor, o: FidelityOptions,
             real_features: bool = True) -> dict[str, str]:
    """Figures that cannot be computed from these sample sizes or this extractor, with the reason;
    ``n_real`` None: unknown (statistics from a file that does not say), ``real_features`` False: the
    reference has statistics but no features."""
    reasons: dict[str, str] = {}
    if not real_features:
        reasons.update(dict.fromkeys(("kid", "precision", "recall", "density", "coverage"), STATISTICS_ONLY))
        n_real = n_real if n_real is not None else n_fake
    if prepared.logits is None:
        reasons["is"] = (prepared.no_logits_reason
                         or f"the {prepared.name} extractor gives no class probabilities, which IS needs")
    elif n_fake < o.isc_splits:
        reasons["is"] = f"IS in {o.isc_splits} splits needs at least {o.isc_splits} samples, got {n_fake}"
    smallest = min(n_fake, n_real)
    fid = fid_refusal(n_fake, n_real, prepared)
    if fid:
        reasons["fid"] = fid
    if smallest <= o.prc_k:
        reasons["precision"] = reasons["recall"] = f"precision/recall with k = {o.prc_k} need more than " \
                                                   f"{o.prc_k} samples on each side, got {smallest}"
    if n_real <= o.k:
        reasons["density"] = reasons["coverage"] = f"density/coverage with k = {o.k} need more than {o.k} " \
                                                   f"reference samples, got {n_real}"
    return reasons


def figures(fake: FeatureSet, real: FeatureSet | None, o: FidelityOptions, rng_seed: int, device: torch.device, *,
            real_stats: GaussianStatistics, skip: frozenset[str] = frozenset(),
            balls: RealBalls | None = None) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Every figure not in ``skip``: {name: value}, and extra details per figure.

    ``real_stats``: the reference's Gaussian statistics (FID's other side); ``balls``: its k-NN radii, when already
    known."""
    values: dict[str, float] = {}
    extra: dict[str, dict[str, Any]] = {}
    if "is" not in skip:
        values["is"], spread = inception_score(fake.logits, o.isc_splits, rng_seed)
        extra["is"] = {"splits": o.isc_splits, "std_over_splits": spread, "rng_seed": rng_seed}
    if "fid" not in skip:
        values["fid"] = frechet_to(fake.features.to(device), real_stats)
    if "kid" not in skip:
        values["kid"], spread = kernel_inception_distance(fake.features, real.features, o.kid_subsets,
                                                          o.kid_subset_size, rng_seed)
        used_subsets, used_size = kid_subsets_for(len(fake), len(real), o.kid_subsets, o.kid_subset_size)
        extra["kid"] = {"subsets": used_subsets, "subset_size": used_size, "std_over_subsets": spread,
                        "kernel": "polynomial, degree 3, gamma 1/D, coef0 1", "rng_seed": rng_seed}
    wanted = set(NEIGHBOURHOOD_FIGURES) - skip
    if wanted:
        real_features = real.features.to(device)
        balls = balls if balls is not None else real_balls(real_features, o.prc_k, o.k, PRC_BATCH)
        values.update(neighbourhood_figures(fake.features.to(device), real_features, balls, o.prc_k, o.k, PRC_BATCH,
                                            wanted))
        extra["precision"] = extra["recall"] = {"k": o.prc_k}
        extra["density"] = extra["coverage"] = {
            "k": o.k, "expected_coverage_if_identical": expected_coverage(len(real), len(fake), o.k)}
    return values, extra


ESTIMATORS = {
    "is": "torch-fidelity isc",
    "fid": "genbench frechet (eigh roots, svd) on torch-fidelity features",
    "kid": "torch-fidelity kid",
    "precision": "torch-fidelity prc",
    "recall": "torch-fidelity prc",
    "density": "naeem2020",
    "coverage": "naeem2020",
}


# ------------------------------------------------------------------------------------- the adapter
class Fidelity(InSpaces):
    """IS, FID, KID, precision/recall (torch-fidelity) and density/coverage, on one feature space."""

    name = "fidelity"
    outputs = OUTPUTS
    config_class = FidelityOptions
    requires_any = frozenset({Capability.SAMPLE})
    from_samples = True

    def space_options(self, first: bool) -> tuple[Any, ...]:
        return (self.config.reference if first else None,)  # a statistics file is the first space's

    def extractor_for(self, data: Data, context: EvalContext) -> tuple[FeatureExtractor | None, str | None]:
        """The extractor to use on ``data`` and, when there is none, why."""
        return self.space.extractor_for(data, context)

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        return self.space.unavailable_reason(data)

    def reference(self, data: Data, context: EvalContext, space: FeatureSpace | None = None) -> Reference | None:
        """The extractor and the real reference set on ``data`` in ``space`` (default: the first; None when no
        extractor fits)."""
        o: FidelityOptions = self.config
        split = o.reference_split(data)
        return (space or self.space).reference(data, context, split, o.sample_count(split), o.batch_size)

    def prepare(self, data: Data, context: EvalContext) -> None:
        for space in self.spaces:
            space.warn_when_absent(data, context, "IS, FID, KID, precision/recall and density/coverage")
            ref = self.reference(data, context, space)
            if ref is not None and ref.real is not None:
                self.real_balls(ref, refusals(ref.n, ref.n, ref.extractor, self.config, real_features=True), context)

    def real_balls(self, ref: Reference, refused: dict[str, str], context: EvalContext) -> RealBalls | None:
        """The reference's k-NN radii (cached with its features), None when no figure needs them."""
        o: FidelityOptions = self.config
        if not set(NEIGHBOURHOOD_FIGURES) - set(refused):
            return None
        return ref.balls(o.prc_k, o.k, PRC_BATCH, context)

    def compute_in(self, space: FeatureSpace, model: GenerativeModel, data: Data, context: EvalContext,
                   name: str | None = None) -> list[Record]:
        """The figures in one feature space (``name``: a further space's, for its own bootstrap stream)."""
        o: FidelityOptions = self.config
        ref = self.reference(data, context, space)
        if ref is None:
            return self.space_unavailable(space, data, context)
        prepared = ref.extractor
        n = o.sample_count(data.split(ref.split))
        x = context.samples(model, n, self.name, o.batch_size)
        fake = extract_features(ref.module, prepared, prepared.to_input(x), o.batch_size, context.device)
        refused = refusals(len(fake), ref.n, prepared, o, real_features=ref.real is not None)
        skip = frozenset(refused)
        rng_seed = FIDELITY_SEED + context.seed
        balls = self.real_balls(ref, refused, context) if ref.real is not None else None
        values, extra = figures(fake, ref.real, o, rng_seed, context.device, skip=skip, real_stats=ref.real_stats,
                                balls=balls)

        generator, replicates = context.generator(in_space(f"{self.name}/bootstrap", name)), o.replicates(n)
        kernels = None
        if replicates and "kid" not in skip and WholeSetKernels.applies(len(fake), ref.n, o):
            kernels = WholeSetKernels(fake.features, ref.real.features)
        spreads = {}
        for distinct, excluded in ((False, OWN_BALLS), (True, frozenset(FIGURES) - OWN_BALLS)):
            def replicate(rows: torch.Tensor, leave: frozenset = skip | excluded) -> dict[str, float]:
                # A resample with repeated rows kept once may be too small for a figure the whole set allowed.
                leave = leave | frozenset(refusals(len(rows), ref.n, prepared, o, real_features=ref.real is not None))
                reuse = kernels is not None and "kid" not in leave
                out = figures(fake.rows(rows), ref.real, o, rng_seed, context.device,
                              skip=leave | ({"kid"} if reuse else set()), real_stats=ref.real_stats, balls=balls)[0]
                return {**out, "kid": kernels.kid(rows)} if reuse else out

            spreads.update(bootstrap(replicate, [len(fake)], replicates, generator, values, distinct=distinct))
        details = sample_provenance(n, prepared.describe(), ref.describe(data))
        records = []
        for metric in FIGURES:
            fields = dict(n=n, extractor=prepared.name, estimator=ESTIMATORS[metric])
            if metric in refused:
                records.append(Record.not_available(metric, refused[metric], details=details, **fields))
            else:
                records.append(figure_record(metric, values[metric], spreads.get(metric),
                                             {**details, **extra.get(metric, {})}, **fields))
        return records
