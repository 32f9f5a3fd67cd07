"""The memorisation metric and the novel-samples row: the data-copying test against scipy and hand-placed points,
its calibration when samples are new by construction, its power against copiers, and the marks it caps."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from genbench import catalog
from genbench.errors import UsageError
from genbench.infra.rng import make_generator
from genbench.metrics.coverage import nearest_neighbours
from genbench.metrics.memorisation import (
    MemorisationOptions,
    copy_ratios,
    data_copying_cells,
    exact_copies,
    generalisation_gap,
    mann_whitney_z,
    row_digests,
)
from genbench.records import Record, to_frame
from genbench.reference import RealData, TrueModel
from genbench.report.marks import CHECK, CROSS, UNSURE, copies_training_set, novelty
from genbench.report.summary import Summary
from genbench.report.table import comparison_table
from genbench.service.evaluation import evaluate

sys.path.insert(0, str(Path(__file__).parent))
from copycats import Copycat, NoisyCopycat  # noqa: E402


# ------------------------------------------------------------------------------------------ kernels
@pytest.mark.parametrize("seed", range(5))
def test_z_u_is_scipys_normal_approximation(seed):
    """Φ(Z_U) is scipy's asymptotic p-value for "the samples' distances are smaller", ties and continuity
    corrected (distances rounded to a coarse grid so that ties are many)."""
    g = np.random.default_rng(seed)
    samples, heldout = (np.round(g.gamma(2.0, size=m), 1) for m in (40 + 7 * seed, 55))
    z = mann_whitney_z(torch.from_numpy(samples), torch.from_numpy(heldout))
    expected = stats.mannwhitneyu(samples, heldout, alternative="less", method="asymptotic").pvalue
    assert stats.norm.cdf(z) == pytest.approx(expected, rel=1e-10)


def test_z_u_signs():
    near, far = torch.linspace(0, 1, 50), torch.linspace(2, 3, 50)
    assert mann_whitney_z(near, far) < -8 < 8 < mann_whitney_z(far, near)


def test_copy_ratio_of_hand_placed_points():
    train = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [0.0, 10.0]], dtype=torch.float64)
    queries = torch.tensor([[1.0, 0.0],     # L1 = 1 to (0, 0), L2 = 9 to (10, 0): ratio 1/9
                            [5.0, 0.0],     # halfway between two: ratio 1
                            [0.0, 10.0]], dtype=torch.float64)  # on a duplicated example: L1 = L2 = 0, a copy
    distances, indices = nearest_neighbours(queries, train, 2)
    ratios = copy_ratios(distances)
    assert ratios.tolist() == pytest.approx([1 / 9, 1.0, 0.0])
    assert indices[0, 0] == 0 and (ratios < 1 / 3).tolist() == [True, False, True]


def test_c_t_cell_logic_by_hand():
    """Two cells: in cell 0 the samples sit on training points (copying), in cell 1 they sit farther than the
    held-out points; cell 2 holds too few samples and is left out. C_T is the test-share-weighted mean of the
    counted cells' Z_U, each computed against the cell's own training points."""
    g = torch.Generator().manual_seed(0)
    train0, train1, train2 = torch.randn(30, 2, generator=g), torch.randn(30, 2, generator=g) + 100, \
        torch.randn(30, 2, generator=g) - 100
    held0, held1, held2 = train0[:12] + 0.3, train1[:24] + 0.3, train2[:6] + 0.3
    samples0, samples1, samples2 = train0[:20] + 0.01, train1[:25] + 2.0, train2[:3]
    cat = lambda *parts: torch.cat(parts).double()  # noqa: E731
    labels = lambda *sizes: torch.cat([torch.full((s,), i) for i, s in enumerate(sizes)])  # noqa: E731
    test = data_copying_cells(cat(train0, train1, train2), labels(30, 30, 30), cat(held0, held1, held2),
                              labels(12, 24, 6), cat(samples0, samples1, samples2), labels(20, 25, 3), 3,
                              min_samples=10)
    assert [c["cell"] for c in test.counted] == [0, 1]
    z = [mann_whitney_z(nearest_neighbours(s.double(), t.double(), 1)[0][:, 0],
                        nearest_neighbours(h.double(), t.double(), 1)[0][:, 0])
         for s, h, t in ((samples0, held0, train0), (samples1, held1, train1))]
    weights = [12 / 42, 24 / 42]
    assert z[0] < -4 and z[1] > 4
    assert test.ct == pytest.approx((weights[0] * z[0] + weights[1] * z[1]) / sum(weights))
    assert test.null_std == pytest.approx(math.sqrt(sum(w * w for w in weights)) / sum(weights))


def test_exact_copies_compare_every_value():
    train = torch.tensor([[0.0, 0.5], [1.0, 1.0]])
    x = torch.tensor([[0.0, 0.5], [0.0, 0.25], [1.0, 1.0]])
    assert exact_copies(x, set(row_digests(train))).tolist() == [True, False, True]


def test_generalisation_gap_is_the_difference_of_means_with_its_standard_error():
    train, test = torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([0.0, 1.0, 5.0])
    gap, se = generalisation_gap(train, test)
    assert gap == pytest.approx(2.5 - 2.0)
    assert se == pytest.approx(math.sqrt(train.var().item() / 4 + test.var().item() / 3))


def test_options_refuse_too_few_samples_and_the_training_split_as_control():
    with pytest.raises(UsageError, match="at least 20 samples"):
        MemorisationOptions(n=5)
    with pytest.raises(UsageError, match="held-out control"):
        MemorisationOptions(split="train")


# ------------------------------------------------------------------------------------- calibration
NULL_SEEDS = 200


def test_z_u_is_standard_normal_when_samples_are_new_by_construction(rings):
    """Samples, held-out and training points all drawn from the rings' true density afresh for each of 200
    seeds (the test's null is over all three: with one fixed held-out set the Z's share its offset). The
    false-positive rate at the two-sided 5% level lies in the binomial band of 200 draws that a correct test
    leaves with probability 0.998, the Z's have mean 0 and standard deviation 1 within their sampling error, and
    the samples' near-copy share equals the held-out split's within its standard error."""
    truth = rings.true_distribution
    z_values, near, held_near = [], [], []
    for seed in range(NULL_SEEDS):
        g = make_generator(seed)
        train, heldout, samples = (truth.sample(n, g).double() for n in (1000, 300, 300))
        sample_d, held_d = nearest_neighbours(samples, train, 2)[0], nearest_neighbours(heldout, train, 2)[0]
        z_values.append(mann_whitney_z(sample_d[:, 0], held_d[:, 0]))
        near.append((copy_ratios(sample_d) < 1 / 3).double().mean().item())
        held_near.append((copy_ratios(held_d) < 1 / 3).double().mean().item())
    z = np.array(z_values)
    rejected = int((np.abs(z) > stats.norm.ppf(0.975)).sum())
    low, high = stats.binom.ppf([0.001, 0.999], NULL_SEEDS, 0.05)
    assert low <= rejected <= high, (rejected, low, high)
    assert abs(z.mean()) < 3 / math.sqrt(NULL_SEEDS)  # the mean of 200 N(0, 1): s.e. 0.071
    assert abs(z.std(ddof=1) - 1) < 3 * math.sqrt(1 / (2 * (NULL_SEEDS - 1)))  # s.e. of a std: 1/√(2(n−1))
    difference = np.array(near) - np.array(held_near)
    assert abs(difference.mean()) < 3 * difference.std(ddof=1) / math.sqrt(NULL_SEEDS)
    assert 0.08 < np.mean(held_near) < 0.14  # in 2-D, (L1/L2)² is uniform for a Poisson process: P(< 1/3) = 1/9


def test_the_true_density_reads_novel_on_rings(rings):
    frame = evaluate(TrueModel(rings.true_distribution, rings.info), rings, ["memorisation"], label="true-density")
    by = frame.set_index("metric")
    assert abs(by.value["copying_zu"]) < 3
    assert abs(by.value["copying_ct"]) < 3 * by.stderr["copying_ct"]
    gap, se = by.value["generalisation_gap"], by.stderr["generalisation_gap"]
    assert abs(gap) < 3 * se  # the true density was fitted to nothing: no train–test gap beyond noise
    assert novelty("true-density", Summary(frame)).mark in (CHECK, UNSURE)


# ------------------------------------------------------------------------------------------- power
@pytest.fixture(scope="module")
def copiers(digits):
    def measure(model, label):
        fitted = model if isinstance(model, RealData) else model.fit(digits.train, generator=make_generator(0))
        return evaluate(fitted, digits, ["memorisation"], label=label)

    sigmas = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
    frames = {"copycat": measure(Copycat(), "copycat"), "real-data": measure(RealData(digits.train), "real-data")}
    frames.update({f"noisy {s}": measure(NoisyCopycat(sigma=s), f"noisy {s}") for s in sigmas})
    return frames, sigmas


def figures(frame: pd.DataFrame) -> dict[str, float]:
    return dict(zip(frame.metric, frame.value))


def test_a_copycat_is_caught(copiers):
    frames, _ = copiers
    copycat = figures(frames["copycat"])
    assert copycat["copying_zu"] < -15 and copycat["copying_ct"] < -5
    assert copycat["near_copies"] == copycat["exact_copies"] == 1.0
    assert copycat["near_copies_heldout"] == 0.0
    summary = Summary(pd.concat(frames.values(), ignore_index=True))
    assert novelty("copycat", summary).mark == CROSS and copies_training_set("copycat", summary)


def test_a_noisy_copycat_moves_monotonically_toward_the_null_and_beyond(copiers):
    """On digits' 17-level grid (steps of 1/16) the test catches a copycat whose every pixel is moved by noise of
    σ = 0.1 (C_T about 9 null σ below 0) and not one at σ = 0.15 (about 2 above): it stops detecting between
    one and two grid steps of noise, where the noise pushes samples as far from their sources as new digits lie.
    Beyond that the samples underfit (C_T ≫ 0)."""
    frames, sigmas = copiers
    ct = [figures(frames[f"noisy {s}"])["copying_ct"] for s in sigmas]
    assert ct == sorted(ct), ct
    summary = Summary(pd.concat(frames.values(), ignore_index=True))
    marks = {s: novelty(f"noisy {s}", summary).mark for s in sigmas}
    assert [marks[s] for s in (0.0, 0.05, 0.1)] == [CROSS] * 3
    assert CROSS not in [marks[s] for s in (0.15, 0.2, 0.3)]
    near = [figures(frames[f"noisy {s}"])["near_copies"] for s in sigmas]
    assert near == sorted(near, reverse=True)


def test_the_real_data_reference_is_measured_on_the_validation_split(copiers, digits):
    frames, _ = copiers
    real = frames["real-data"]
    assert set(real.n[real.metric == "copying_ct"]) == {len(digits.val)}
    assert "validation" in real.details[real.metric == "copying_ct"].iloc[0] or \
        "val split" in real.details[real.metric == "copying_ct"].iloc[0]
    assert abs(figures(real)["copying_zu"]) < 3


def test_a_model_that_ignores_the_data_underfits_and_copies_nothing(digits):
    class Noise(Copycat):
        name = "uniform-noise"

        def _sample(self, n, generator):
            return self._info.quantize(torch.rand(n, *self._info.shape, generator=generator))

    frame = evaluate(Noise().fit(digits.train), digits, ["memorisation"], label="noise")
    by = figures(frame)
    assert by["copying_ct"] > 10 * frame.stderr[frame.metric == "copying_ct"].iloc[0]
    assert by["near_copies"] == by["exact_copies"] == 0.0
    assert novelty("noise", Summary(frame)).mark == UNSURE


# ---------------------------------------------------------------------------------------- the marks
def sample_records(model, fid, fid_se, coverage, ct, near, exact=0.0, speed=1e6):
    records = [Record("fid", fid, fid_se), Record("coverage", coverage, 0.02),
               Record("samples_per_second", speed, n=256),
               Record("copying_ct", ct, 0.4, details={"null_std": 0.4}),
               Record("near_copies", near, math.sqrt(near * (1 - near) / 359) if 0 < near < 1 else 0.0),
               Record("near_copies_heldout", 0.0, 0.0), Record("exact_copies", exact, 0.0),
               Record("exact_copies_heldout", 0.0, 0.0)]
    family = catalog.MODELS.get(model).family if model in catalog.MODELS.names() else ""
    return [r.identify(model=model, dataset="digits", seed=0, family=family) for r in records]


def declared_frame(*groups):
    from genbench.catalog import METRICS

    outputs = {o.name: o for name in ("fidelity", "memorisation", "sampling-speed")
               for o in METRICS.get(name).outputs}
    records = [r for group in groups for r in group]
    return to_frame(Record(**{**r.__dict__, "details": {**r.details, "output": outputs[r.metric].to_dict()}})
                    for r in records)


def test_a_copier_is_capped_and_never_the_best_model():
    """The copycat has the best FID, coverage and speed; it is ✗ for novel samples, its quality and coverage are
    capped at ? with the reason, and the GAN's coverage is no longer measurably worse than "the best"."""
    frame = declared_frame(sample_records("gan", 18.0, 1.0, 0.82, 5.0, 0.0, speed=6e4),
                           sample_records("copycat", 14.6, 1.0, 0.955, -9.0, 1.0, exact=1.0, speed=1.5e7),
                           sample_records("real-data", 16.1, 1.0, 0.95, 0.5, 0.0))
    table = comparison_table(frame)
    assert table.cell("novelty", "copycat").mark == CROSS
    assert table.cell("novelty", "gan").mark == UNSURE  # C_T ≫ 0: farther than new data, underfitting
    for row in ("quality", "coverage"):
        cell = table.cell(row, "copycat")
        assert cell.mark == UNSURE and "copies of the training set" in cell.text
    assert table.cell("coverage", "gan").mark == UNSURE  # without the copier it would be ✗ (0.82 vs 0.955)
    assert table.cell("sampling", "gan").mark == CHECK  # measured against the fastest model that generates
    assert "1× the fastest" in table.cell("sampling", "gan").text


def test_the_lecture_comparison_counts_its_six_rows_only():
    from genbench.report.lecture import lecture_cells

    frame = declared_frame(sample_records("gan", 18.0, 1.0, 0.82, 5.0, 0.0))
    rows = {c.row for c in lecture_cells(comparison_table(frame))}
    assert "Novel samples" not in rows and len(rows) == 6


# ------------------------------------------------------------------------------------------ bad input
def test_too_few_samples_is_one_line_and_exit_2(cli, tmp_path, digits):
    np.save(tmp_path / "few.npy", digits.test.x[:10].numpy())
    result = cli("score", str(tmp_path / "few.npy"), "--n", "10", "--out", str(tmp_path / "out"))
    assert result.code == 2 and result.err.count("\n") == 1
    assert "needs at least 20 samples, got n = 10" in result.err and not (tmp_path / "out").exists()


def test_the_row_is_n_a_with_the_reason_without_a_training_split_or_enough_samples(digits):
    from genbench.data.splits import Data, Split

    tiny = Data(digits.info, Split(digits.train.x[:1], digits.info), Split(digits.val.x[:10], digits.info, name="val"),
                digits.test)
    frame = evaluate(RealData(digits.train), tiny, ["memorisation"], label="real-data")
    assert set(frame.status) == {"unavailable"} and "no training split" in frame.reason.iloc[0]
    few_val = Data(digits.info, digits.train, Split(digits.val.x[:10], digits.info, name="val"), digits.test)
    frame = evaluate(RealData(digits.train), few_val, ["memorisation"], label="real-data")
    assert set(frame.status) == {"unavailable"} and "needs at least 20 samples" in frame.reason.iloc[0]
    cell = comparison_table(Summary(frame)).cell("novelty", "real-data")
    assert cell.mark == "n/a" and "needs at least 20 samples" in cell.text
