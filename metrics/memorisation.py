"""Memorisation: are a model's samples new examples, or copies of its training examples?

FID, IS, KID, precision/recall and density/coverage all reward a model that returns its training examples:
they compare samples with data, and training examples are data. This metric compares the samples Q (m of
them, the fidelity metric's own draws) with the **training** split T, using the held-out split P (n examples,
the test split) as the control: a model that learned the distribution places its samples no closer to the
training examples than new data from the distribution lies. Distances are Euclidean, in the fidelity metric's
feature space (the domain classifier's features, the raw coordinates, or Inception when chosen), in float64; with
``extractor=domain+wavelet``, the test and the near copies again in each further space (``copying_ct[wavelet]``).

With L(x) = min_{t ∈ T} ‖x − t‖, the distance to the nearest training example:

- **Z_U**, the data-copying test of Meehan, Chaudhuri & Dasgupta (2020, "A non-parametric test to detect
  data-copying in generative models", AISTATS, §3): U = #{(q, p): L(q) > L(p)} + ½·#{ties} is the
  Mann–Whitney statistic of L(Q) against L(P), and

      Z_U = (U − mn/2 + ½) / σ_U,   σ_U² = mn/12 · (N + 1 − Σ_g (t_g³ − t_g) / (N (N − 1))),   N = m + n,

  with t_g the sizes of groups of tied distances: scipy's normal approximation with its continuity and tie
  corrections, so that Φ(Z_U) is ``scipy.stats.mannwhitneyu(L(Q), L(P), alternative="less")``'s p-value.
  N(0, 1) when Q is drawn from P's distribution independently of T; ≪ 0 when samples sit closer to training
  examples than new data does (copying); ≫ 0 when farther (underfitting).
- **C_T**, the same test within cells (their eq. 3): k-means partitions the training features into cells π;
  in every cell that holds at least τ samples (and test and training examples), Z_U(π) compares the
  samples' and the test examples' distances to the cell's own training examples, and

      C_T = Σ_π P(π) Z_U(π) / Σ_π P(π),   P(π) the cell's share of the test split.

  Copying in one region shows even where the model underfits elsewhere. Under the null the Z_U(π) are
  independent N(0, 1), so C_T has standard deviation √(Σ P(π)²) / Σ P(π): the record's ``stderr``.
- **near copies**: the share of samples whose nearest training example lies closer than 1/3 of the distance
  to the second nearest, L₁/L₂ < 1/3 (the ratio test of the memorisation studies of diffusion models: Yoon et
  al. 2023, "Diffusion probabilistic models generalize when they fail to memorize"; Gu et al. 2023, "On
  memorization in diffusion models"), with its binomial standard error √(p(1 − p)/m); the same share of the
  test split is the baseline (``near_copies_heldout``).
- **exact copies**: the share of samples equal, value for value, to a training example (in the data's own
  representation: pixels on the data's grid); the test split's share beside it.
- **generalisation gap** (likelihood models): the mean log-likelihood of a training subset of the test
  split's size (at most ``gap_n``) minus the test log-likelihood, in nats, with standard error
  √(s²_train/n + s²_test/n). Both sides use one estimator (``genbench.metrics.likelihood``: K = ``gap_k``
  importance samples, a tenth of the likelihood protocol's, or ``gap_terms`` = 10 terms of a bound that sums T
  of them, their t drawn by importance as the protocol draws its 50), so an estimator's slack cancels; a model
  that overfits shows a gap even when its samples look new. Drawn uniformly, 50 terms gave the diffusion model
  on MNIST a gap of 90 ± 227 nats, which says nothing; 10 by importance give −9 ± 13 (the spread of the
  examples' own log-likelihoods, which more terms do not shrink) at half the network passes.

The real-data reference column draws training examples by construction; its figures here are those of the
validation split, which no model trained on: what a model that learned the distribution would score. Per
sample (L₁, L₂, the nearest training example, its cell) each cell writes ``memorisation/<label>-seed<k>.csv``,
and on images ``samples/<label>-seed<k>-copies.png`` shows its most copy-like samples above their nearest
training examples.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from genbench.config import require, require_positive
from genbench.data.splits import Data, Split, subset_rows
from genbench.infra.images import image_rows_png
from genbench.metric import EvalContext
from genbench.metrics.coverage import nearest_neighbours
from genbench.metrics.feature_space import FeatureSpace, InSpaces, Reference, extract_features, load_reference
from genbench.metrics.likelihood import LogLikelihood, mean_and_stderr, monte_carlo_share
from genbench.metrics.samples import DrawOptions, sample_provenance
from genbench.model import Capability, GenerativeModel
from genbench.outputs import HIGHER, LOWER, Output
from genbench.records import Record
from genbench.sample_set import FixedSamples

COPY_RATIO = 1 / 3
MIN_SAMPLES = 20
"""Fewest samples the test compares, and, by default, the fewest a cell needs to count in C_T (τ·m = 20, as
Meehan et al. set τ = 20/m)."""
MAX_CELLS = 50
"""Meehan et al.'s MNIST partition; the default cells are min(50, n // 50): about 50 test examples a cell."""
GALLERY = 8
"""Most copy-like samples shown beside their nearest training examples."""
FOLDER = "memorisation"
GAP_K = 100
"""The gap's importance samples at 8×8: a tenth of the likelihood protocol's, on both sides."""
DISTANCE_COLUMNS = ("set", "index", "nearest_train", "distance", "second_distance", "ratio", "near_copy",
                    "exact_copy", "cell")
"""The per-sample table: ``set`` is "sample" or "held-out"; ``cell`` −1 where the cell does not count."""

OUTPUTS = (
    Output("copying_ct", "C_T", headline=True, gate=HIGHER),
    Output("copying_zu", "Z_U", gate=HIGHER),
    Output("near_copies", "near copies", better=LOWER, headline=True, style="percent"),
    Output("near_copies_heldout", "held-out near copies", style="percent"),
    Output("exact_copies", "exact copies", better=LOWER, style="percent"),
    Output("exact_copies_heldout", "held-out exact copies", style="percent"),
    Output("generalisation_gap", "train − test log-likelihood", "nats", better=LOWER),
)
FEATURE_FIGURES = ("copying_ct", "copying_zu", "near_copies", "near_copies_heldout")


@dataclasses.dataclass(frozen=True)
class MemorisationOptions(DrawOptions):
    """``n`` samples (the fidelity metric's, by default as many as the test split holds) against the training
    split, the ``split`` (test) as the control."""

    extractor: str = "auto"
    """The feature space, as the fidelity metric's (auto: raw coordinates, the domain classifier or Inception);
    several joined by + test copying in each (``copying_ct[wavelet]``)."""
    cells: int | None = None
    """k-means cells of the training features for C_T (default: min(50, n // 50), at least 1)."""
    min_cell_samples: int = MIN_SAMPLES
    """τ·m: a cell counts in C_T when it holds at least this many samples."""
    ratio: float = COPY_RATIO
    """A sample is a near copy when L₁/L₂ is below this."""
    train_n: int = 60_000
    """Training examples compared (all of them up to this; a fixed random subset above)."""
    gap_k: int | None = None
    """Importance samples per example for the generalisation gap of latent-variable models (default: 100 up to 64
    values per example, 100 × ``monte_carlo_share`` above, as the likelihood protocol scales its K)."""
    gap_terms: int = 10
    """For a bound that sums many terms (the diffusion model's T), the gap's unbiased estimate from this many, their
    t drawn by importance."""
    gap_n: int = 500
    """Examples per side of the generalisation gap (at most the test split's size)."""

    def validate(self) -> None:
        super().validate()
        require(self.n is None or self.n >= MIN_SAMPLES,
                f"the data-copying test needs at least {MIN_SAMPLES} samples, got n = {self.n} (leave memorisation "
                "out of --metrics to measure fewer)")
        require(self.split != "train", "split is the held-out control; the samples are compared with the training "
                                       "split already")
        require(0 < self.ratio < 1, f"ratio must be in (0, 1), got {self.ratio}")
        require_positive(cells=self.cells, min_cell_samples=self.min_cell_samples, train_n=self.train_n,
                         gap_k=self.gap_k, gap_terms=self.gap_terms, gap_n=self.gap_n)

    def cell_count(self, n_heldout: int) -> int:
        return self.cells if self.cells is not None else max(1, min(MAX_CELLS, n_heldout // 50))


# ------------------------------------------------------------------------------------------- kernels
def mann_whitney_z(samples: torch.Tensor, heldout: torch.Tensor) -> float:
    """Z_U of ``samples`` (m,) against ``heldout`` (n,) (module docstring): ≪ 0 when samples are smaller."""
    from scipy.stats import rankdata  # defers SciPy

    m, n = len(samples), len(heldout)
    pooled = torch.cat([samples, heldout]).double().numpy()
    ranks = rankdata(pooled)
    u = ranks[:m].sum() - m * (m + 1) / 2
    _, ties = np.unique(pooled, return_counts=True)
    total = m + n
    variance = m * n / 12 * (total + 1 - (ties**3 - ties).sum() / (total * (total - 1)))
    if variance <= 0:
        return math.nan
    return float((u - m * n / 2 + 0.5) / math.sqrt(variance))


def share(flags: torch.Tensor) -> tuple[float, float]:
    """The share of True in ``flags`` (m,) and its binomial standard error √(p(1 − p)/m)."""
    p = flags.double().mean().item()
    return p, math.sqrt(p * (1 - p) / len(flags))


def copy_ratios(distances: torch.Tensor) -> torch.Tensor:
    """L₁/L₂ from the two nearest training distances (M, 2); 0 where L₁ = 0 (a copy of a duplicated example)."""
    first, second = distances[:, 0], distances[:, 1]
    return torch.where(first == 0, torch.zeros_like(first), first / second)


def row_digests(x: torch.Tensor) -> list[bytes]:
    """A 16-byte BLAKE2 digest of each example's values (N, ...): equal digests, equal examples."""
    rows = x.detach().cpu().contiguous().reshape(len(x), -1).numpy()
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in rows]


def exact_copies(x: torch.Tensor, train_digests: set[bytes]) -> torch.Tensor:
    """(N,) whether each example of ``x`` equals, value for value, a training example."""
    return torch.tensor([digest in train_digests for digest in row_digests(x)], dtype=torch.bool)


@dataclasses.dataclass(frozen=True)
class CellTest:
    """C_T and what it was made of: each counted cell's Z_U and test share."""

    ct: float
    null_std: float
    counted: list[dict[str, Any]]
    """Per counted cell: its index, test, sample and training counts, and Z_U."""
    cells: int

    def describe(self) -> dict[str, Any]:
        return {"cells": self.cells, "counted_cells": len(self.counted), "per_cell": self.counted}


def data_copying_cells(train: torch.Tensor, train_cells: torch.Tensor, heldout: torch.Tensor,
                       heldout_cells: torch.Tensor, samples: torch.Tensor, sample_cells: torch.Tensor, cells: int,
                       min_samples: int) -> CellTest:
    """C_T of Meehan et al. (module docstring) from features and their cells (each (N, D) with (N,) cell
    indices): per cell with ≥ ``min_samples`` samples and at least one test and one training example, the Z_U
    of the samples' and test examples' distances to the cell's training examples, weighted by the test share."""
    counted, weighted, weights = [], 0.0, []
    for cell in range(cells):
        in_train, in_heldout, in_samples = train[train_cells == cell], heldout[heldout_cells == cell], \
            samples[sample_cells == cell]
        if len(in_samples) < min_samples or len(in_heldout) == 0 or len(in_train) == 0:
            continue
        z = mann_whitney_z(nearest_neighbours(in_samples, in_train, 1)[0][:, 0],
                           nearest_neighbours(in_heldout, in_train, 1)[0][:, 0])
        if not math.isfinite(z):
            continue
        weight = len(in_heldout) / len(heldout)
        weighted += weight * z
        weights.append(weight)
        counted.append({"cell": cell, "heldout": len(in_heldout), "samples": len(in_samples),
                        "train": len(in_train), "z_u": z})
    if not weights:
        return CellTest(math.nan, math.nan, [], cells)
    total = sum(weights)
    return CellTest(weighted / total, math.sqrt(sum(w * w for w in weights)) / total, counted, cells)


def generalisation_gap(train_values: torch.Tensor, test_values: torch.Tensor) -> tuple[float, float]:
    """mean(train) − mean(test) and its standard error √(s²_train/n_train + s²_test/n_test)."""
    train_mean, train_se = mean_and_stderr(train_values)
    test_mean, test_se = mean_and_stderr(test_values)
    return train_mean - test_mean, math.sqrt(train_se**2 + test_se**2)


# ------------------------------------------------------------------------------------- the adapter
@dataclasses.dataclass
class TrainingSide:
    """What every model's measurement on one dataset shares: the training features, their k-means cells and
    the held-out split's distances to them, and the digests of the training examples."""

    train: torch.Tensor
    rows: torch.Tensor
    """Which training examples ``train`` holds (all, or a fixed subset of ``train_n``)."""
    kmeans: Any
    train_cells: torch.Tensor
    heldout: torch.Tensor
    heldout_cells: torch.Tensor
    heldout_nearest: tuple[torch.Tensor, torch.Tensor]
    """The held-out examples' two nearest training distances (n, 2) and their indices in the training split."""


class Memorisation(InSpaces):
    """The data-copying test (Z_U, C_T), near and exact copies, and the train–test likelihood gap; the test and the
    near copies in each feature space its ``extractor`` names (``domain+wavelet``), the rest once."""

    name = "memorisation"
    outputs = OUTPUTS
    config_class = MemorisationOptions
    requires_any = frozenset({Capability.SAMPLE})
    from_samples = True
    in_every_space = FEATURE_FIGURES

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._training: dict[tuple[str, str], TrainingSide] = {}
        self._digests: dict[str, set[bytes]] = {}

    def reference(self, data: Data, context: EvalContext, space: FeatureSpace | None = None) -> Reference | None:
        """The held-out split's features in ``space`` (None: the first), as the fidelity metric computes (and
        caches) them."""
        o: MemorisationOptions = self.config
        split = o.reference_split(data)
        return (space or self.space).reference(data, context, split, o.sample_count(split), o.batch_size)

    def prepare(self, data: Data, context: EvalContext) -> None:
        for space in self.spaces:
            space.warn_when_absent(data, context, "the data-copying test and near copies")
            if len(data.train) >= 2 and self.reference(data, context, space) is not None:
                self.training_side(data, context, space)

    def training_side(self, data: Data, context: EvalContext, space: FeatureSpace) -> TrainingSide:
        """The training features and cells in ``space``, computed once per dataset (the features cached on disk)."""
        from sklearn.cluster import KMeans  # defers scikit-learn

        key = (data.fingerprint, space.extractor)
        if key not in self._training:
            o: MemorisationOptions = self.config
            ref = self.reference(data, context, space)
            rows = subset_rows(data.train, o.train_n)
            train_ref = load_reference(ref.extractor, ref.module, data, data.train, len(rows), o.batch_size, context)
            train, heldout = train_ref.real.features.double(), ref.real.features.double()
            cells = min(o.cell_count(len(heldout)), len(train))
            kmeans = KMeans(n_clusters=cells, n_init=4, random_state=0).fit(train.numpy())
            distances, indices = nearest_neighbours(heldout, train, 2)
            self._training[key] = TrainingSide(
                train, rows, kmeans, torch.from_numpy(kmeans.labels_).long(), heldout,
                torch.from_numpy(kmeans.predict(heldout.numpy())).long(), (distances, rows[indices]))
        return self._training[key]

    def train_digests(self, data: Data) -> set[bytes]:
        if data.fingerprint not in self._digests:
            self._digests[data.fingerprint] = set(row_digests(data.train.x))
        return self._digests[data.fingerprint]

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        o: MemorisationOptions = self.config
        if len(data.train) < 2:
            return self.not_available(f"{data.name} has no training split to compare the samples with")
        heldout_split = o.reference_split(data)
        heldout_x = heldout_split.x[subset_rows(heldout_split, o.sample_count(heldout_split))]
        x, drawn = self.samples(model, data, context)
        if len(x) < MIN_SAMPLES:
            return self.not_available(f"the data-copying test needs at least {MIN_SAMPLES} samples; {drawn['what']} "
                                      f"holds {len(x)}")
        details = {"samples": drawn, "training": {"split": "train", "n": len(data.train)},
                   "heldout": {"split": heldout_split.name, "n": len(heldout_x)}}
        records = []
        copies = exact_copies(x, self.train_digests(data))
        heldout_copies = exact_copies(heldout_x, self.train_digests(data))
        exact_details = {**details, "space": "the data's values (pixels on its grid)"}
        records += [Record("exact_copies", *share(copies), n=len(x), estimator="equal values", details=exact_details),
                    Record("exact_copies_heldout", *share(heldout_copies), n=len(heldout_x),
                           estimator="equal values", details=exact_details)]
        first_space: dict[str, tuple] = {}

        def measure(space: FeatureSpace, name: str | None) -> list[Record]:
            ref = self.reference(data, context, space)
            if ref is None:
                return self.space_unavailable(space, data, context)
            feature_records, per_sample = self.feature_figures(x, copies, heldout_copies, ref, space, data, context,
                                                               details)
            if name is None:
                first_space.update(per_sample)
            return feature_records

        records += self.in_each_space(measure)
        records.append(self.gap_record(model, data, context))
        self.write_files(x, first_space or None, data, context)
        return records

    def samples(self, model: GenerativeModel, data: Data, context: EvalContext) -> tuple[torch.Tensor, dict[str, Any]]:
        """The samples to test and how they were had: the fidelity metric's draws (its random stream), or, for
        the real-data reference (training examples by construction), the validation split."""
        o: MemorisationOptions = self.config
        n = o.sample_count(o.reference_split(data))
        if isinstance(model, FixedSamples) and model.split == "train":
            unseen = next(s for s in (data.val, data.test) if s.name != o.split)
            return unseen.x[:n], {"what": f"the {unseen.name} split", "n": min(n, len(unseen)),
                                  "note": f"{model.name} draws training examples; its novelty is that of the "
                                          f"{unseen.name} split's examples, which no model trained on"}
        x = context.samples(model, n, "fidelity", o.batch_size)
        return x, {"what": f"{model.name}'s samples", "n": len(x), "stream": "the fidelity metric's draws"}

    def feature_figures(self, x: torch.Tensor, copies: torch.Tensor, heldout_copies: torch.Tensor, ref: Reference,
                        space: FeatureSpace, data: Data, context: EvalContext, details: dict[str, Any],
                        ) -> tuple[list[Record], dict[str, tuple]]:
        """The data-copying test and the near copies in one space, and the per-sample table's columns there."""
        o: MemorisationOptions = self.config
        side = self.training_side(data, context, space)
        prepared = ref.extractor
        samples = extract_features(ref.module, prepared, prepared.to_input(x), o.batch_size, context.device)
        features = samples.features.double()
        distances, indices = nearest_neighbours(features, side.train, 2)
        indices = side.rows[indices]
        sample_cells = torch.from_numpy(side.kmeans.predict(features.numpy())).long()
        z_u = mann_whitney_z(distances[:, 0], side.heldout_nearest[0][:, 0])
        test = data_copying_cells(side.train, side.train_cells, side.heldout, side.heldout_cells, features,
                                  sample_cells, side.kmeans.n_clusters, o.min_cell_samples)
        ratios, heldout_ratios = copy_ratios(distances), copy_ratios(side.heldout_nearest[0])
        near, heldout_near = ratios < o.ratio, heldout_ratios < o.ratio
        space = {**sample_provenance(len(x), prepared.describe(), ref.describe(data)), **details,
                 "training": {**details["training"], "compared": len(side.rows)}}
        common = dict(n=len(x), extractor=prepared.name)
        test_details = {**space, "min_cell_samples": o.min_cell_samples, "null_std": test.null_std, **test.describe()}
        if not math.isfinite(test.ct):
            ct = Record.not_available("copying_ct", f"no cell holds {o.min_cell_samples} samples or more of the "
                                      f"{len(x)} (C_T leaves such cells out)", details=test_details, **common)
        else:
            ct = Record("copying_ct", test.ct, test.null_std, estimator="meehan2020 C_T", details=test_details,
                        **common)
        near_details = {**space, "ratio": o.ratio}
        records = [
            ct,
            Record("copying_zu", z_u, 1.0, estimator="meehan2020 Z_U", details=space, **common),
            Record("near_copies", *share(near), estimator="L1/L2 ratio test", details=near_details, **common),
            Record("near_copies_heldout", *share(heldout_near), n=len(side.heldout), extractor=prepared.name,
                   estimator="L1/L2 ratio test", details=near_details),
        ]
        counted = {c["cell"] for c in test.counted}
        heldout_cells = torch.tensor([c if c in counted else -1 for c in side.heldout_cells.tolist()])
        cells = torch.tensor([c if c in counted else -1 for c in sample_cells.tolist()])
        per_sample = {
            "sample": (distances, indices, ratios, near, copies, cells),
            "held-out": (*side.heldout_nearest, heldout_ratios, heldout_near, heldout_copies, heldout_cells),
        }
        return records, per_sample

    def gap_record(self, model: GenerativeModel, data: Data, context: EvalContext) -> Record:
        """The generalisation gap, or n/a with the reason."""
        o: MemorisationOptions = self.config
        gap_k = o.gap_k if o.gap_k is not None else max(1, round(GAP_K * monte_carlo_share(data.info.dim)))
        likelihood = LogLikelihood(k=gap_k, terms=o.gap_terms, sampling="importance")
        if model.samples_only:
            return Record.not_available("generalisation_gap", "samples only: the gap needs the model's likelihood")
        missing = likelihood.missing_capability(model) or likelihood.unavailable_reason(model, data)
        if missing:
            return Record.not_available("generalisation_gap", missing)
        heldout = o.reference_split(data)
        n = min(o.gap_n, len(heldout))
        sides = {split.name: split.x[subset_rows(split, n)] for split in (data.train, heldout)}
        generator = context.generator(f"{self.name}/gap")
        values = {name: likelihood.per_example(model, x, data.info, generator) for name, x in sides.items()}
        gap, stderr = generalisation_gap(values[data.train.name], values[heldout.name])
        estimator, how = likelihood.how(model, data.info)
        return Record("generalisation_gap", gap, stderr, n=n, estimator=estimator,
                      details={"splits": list(sides), "n_per_split": n, "kind": model.likelihood_kind, **how})

    def write_files(self, x: torch.Tensor, per_sample: dict[str, tuple] | None, data: Data,
                    context: EvalContext) -> None:
        """The per-sample table and, on images, the gallery of the most copy-like samples (module docstring)."""
        files = context.files
        if files is None or per_sample is None:
            return

        frames = []
        for name, (distances, indices, ratios, near, copies, cells) in per_sample.items():
            frames.append(pd.DataFrame({
                "set": name, "index": range(len(ratios)), "nearest_train": indices[:, 0].numpy(),
                "distance": distances[:, 0].numpy(), "second_distance": distances[:, 1].numpy(),
                "ratio": ratios.numpy(), "near_copy": near.numpy(), "exact_copy": copies.numpy(),
                "cell": cells.numpy()}, columns=list(DISTANCE_COLUMNS)))
        buffer = io.StringIO()
        pd.concat(frames, ignore_index=True).to_csv(buffer, index=False)
        files.write(FOLDER, ".csv", buffer.getvalue().encode())
        if data.info.is_image:
            _, indices, ratios, *_ = per_sample["sample"]
            files.write("samples", "-copies.png", copies_png(x, data.train, indices[:, 0], ratios, files.stem))


def copies_png(x: torch.Tensor, train: Split, nearest: torch.Tensor, ratios: torch.Tensor, label: str) -> bytes:
    """The ``GALLERY`` samples of smallest L₁/L₂ (top row) above their nearest training examples (bottom row)."""
    order = ratios.argsort()[:GALLERY]
    shown = torch.cat([x[order], train.x[nearest[order]]])
    pictures = shown.float().cpu().numpy()
    return image_rows_png(pictures, len(order), f"{label}: the most copy-like samples above their nearest training "
                          "examples;\nunder each, distance to the nearest / to the second nearest (a near copy < 1/3)",
                          row_labels=["sample", "nearest training"],
                          column_labels=[f"{r:.2f}" for r in ratios[order].tolist()])
