"""What each trained baseline promises beyond the contract: β-VAE's loss, the AE's code Gaussian,
the GAN's losses and its samples on rings, budgets, mixed precision, dynamic binarization."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

import genbench
from genbench.baselines.beta_vae import BetaVAEConfig
from genbench.baselines.training import TrainingConfig, budget_steps, epochs_for, steps_cap
from genbench.baselines.vae import VAEConfig
from genbench.data import Split
from genbench.defaults import size_factor
from genbench.errors import TrainingFailed


def built(name, info, seed=0, **options):
    model = genbench.make_model(name, hidden=(32,), width=8, **options)
    model.build(info, seed=seed)
    return model


def test_beta_vae_config_is_the_vae_config_plus_beta():
    assert issubclass(BetaVAEConfig, VAEConfig)
    extra = {f.name for f in dataclasses.fields(BetaVAEConfig)} - {f.name for f in dataclasses.fields(VAEConfig)}
    assert extra == {"beta"} and BetaVAEConfig().beta == 4.0


def test_beta_vae_with_beta_one_gives_the_vae_loss_exactly(digits):
    x = digits.train.x[:64]
    vae = built("vae", digits.info)
    beta_vae = built("beta-vae", digits.info, beta=1.0)
    for a, b in zip(vae.state_dict().values(), beta_vae.state_dict().values()):
        assert torch.equal(a, b)
    same_noise = torch.Generator().manual_seed(1)
    assert torch.equal(vae.loss(x, torch.Generator().manual_seed(1)), beta_vae.loss(x, same_noise))


def test_beta_weighs_the_kl_term(digits):
    x = digits.train.x[:64]
    model = built("beta-vae", digits.info, beta=4.0)
    log_likelihood, kl = model.elbo_terms(x, torch.Generator().manual_seed(1))
    assert torch.allclose(model.loss(x, torch.Generator().manual_seed(1)), (4.0 * kl - log_likelihood).mean())


def test_training_with_beta_one_matches_the_vae(digits):
    options = dict(hidden=(32,), width=8, epochs=2)
    vae = genbench.make_model("vae", **options).fit(digits.train, generator=torch.Generator().manual_seed(0))
    same = genbench.make_model("beta-vae", beta=1, **options)
    same.fit(digits.train, generator=torch.Generator().manual_seed(0))
    assert vae.history_ == same.history_


def test_autoencoder_samples_from_a_gaussian_fitted_to_its_codes(digits):
    model = genbench.make_model("ae", hidden=(32,), width=8, epochs=2).fit(digits.train)
    codes = model.encode(digits.train.x).double()
    fitted_covariance = model.code_cholesky_.double() @ model.code_cholesky_.double().T
    assert torch.allclose(model.code_mean_.double(), codes.mean(0), atol=1e-5)
    assert torch.allclose(fitted_covariance, torch.cov(codes.T), atol=1e-4)
    z = model.sample_latent(20_000, torch.Generator().manual_seed(0)).double()
    # Sampling error of the mean with 2e4 draws: about 4·σ/√n.
    assert torch.allclose(z.mean(0), codes.mean(0), atol=4 * codes.std(0).max().item() / math.sqrt(20_000))


def test_gan_losses_are_the_non_saturating_ones(digits):
    """Against binary cross-entropy: L_D = BCE(D(x), 1) + BCE(D(G(z)), 0), L_G = BCE(D(G(z)), 1).

    In eval mode, so that batch normalisation gives both sides the same outputs."""
    model = built("gan", digits.info).eval()
    real = digits.train.x[:16]
    fake = model.generate(torch.randn(16, model.latent_dim_, generator=torch.Generator().manual_seed(0)))
    ones, zeros = torch.ones(16, 1), torch.zeros(16, 1)
    loss_d = model.discriminator_loss(real, fake, torch.Generator().manual_seed(3))
    real_in = model.real_input(real, torch.Generator().manual_seed(3))
    expected_d = (F.binary_cross_entropy_with_logits(model.discriminator(real_in), ones)
                  + F.binary_cross_entropy_with_logits(model.discriminator(fake), zeros))
    assert torch.allclose(loss_d, expected_d)
    expected_g = F.binary_cross_entropy_with_logits(model.discriminator(fake), ones)
    assert torch.allclose(model.generator_loss(fake), expected_g)


def test_gan_real_images_are_dequantized_within_their_bins(digits):
    model = built("gan", digits.info)
    real = digits.train.x[:50]
    seen = model.real_input(real, torch.Generator().manual_seed(0))
    assert not torch.equal(seen, real)
    assert torch.equal(digits.info.quantize(seen), real)  # every value stays in its own bin


def test_gan_logs_both_losses_every_epoch(digits):
    model = genbench.make_model("gan", hidden=(32,), width=8, epochs=3).fit(digits.train)
    assert [h["epoch"] for h in model.history_] == [0, 1, 2]
    assert all(math.isfinite(h["d_loss"]) and math.isfinite(h["g_loss"]) for h in model.history_)


@pytest.mark.slow
def test_gan_samples_on_rings_fall_near_the_modes():
    """The default budget (3000 steps) puts most samples within 3σ of a mode, on every mode."""
    data = genbench.load_dataset("rings", n_val=200, n_test=200)
    gan = genbench.make_model("gan").fit(data.train, generator=torch.Generator().manual_seed(0))
    modes, distance = data.true_distribution.nearest_mode(gan.sample(4000, torch.Generator().manual_seed(1)))
    near = distance < 3
    per_mode = torch.bincount(modes[near], minlength=8)
    assert near.float().mean() > 0.5, near.float().mean()  # 0.73 when this test was written
    assert (per_mode > 40).all(), per_mode.tolist()  # every mode gets > 1% of the samples


def test_budget_sets_the_number_of_steps_and_epochs_override_it():
    config = TrainingConfig(budget="smoke", batch_size=100)
    assert epochs_for(config, {"smoke": 40, "default": 4000, "paper": 10**5}, n_train=1000) == 4
    assert epochs_for(config.replace(budget="default"), {"smoke": 40, "default": 4000, "paper": 1}, 1000) == 400
    assert epochs_for(config.replace(epochs=7), {"smoke": 40, "default": 4000, "paper": 1}, 1000) == 7


def test_budgets_shrink_with_the_size_of_an_example():
    """(64 / D)^(2/3) of the steps above 64 values: a run then costs (D / 64)^(1/3) times a run on 8×8 digits."""
    assert size_factor(64) == size_factor(2) == 1.0
    assert size_factor(784) == pytest.approx((64 / 784) ** (2 / 3)) == pytest.approx(0.1882, abs=1e-4)
    steps = {"smoke": 40, "default": 4000, "paper": 100_000}
    assert budget_steps(TrainingConfig(), steps, 64) == 4000
    assert budget_steps(TrainingConfig(), steps, 784) == 753
    assert budget_steps(TrainingConfig(budget="smoke"), steps, 784) == 8
    cost = size_factor(784) * 784 / (size_factor(64) * 64)  # steps × values per step
    assert cost == pytest.approx((784 / 64) ** (1 / 3))
    assert epochs_for(TrainingConfig(batch_size=128), steps, n_train=7200, values=784) == 14  # 753 / 57 a epoch


@pytest.mark.parametrize("name", ["vae", "gan"])
def test_a_budget_shorter_than_an_epoch_is_that_many_steps(name, digits, monkeypatch):
    """The smoke budget's 40 steps on a dataset of more steps per epoch (MNIST: 430) are 40, not an epoch."""
    assert steps_cap(TrainingConfig(budget="smoke", batch_size=8), {"smoke": 40}, n_train=1258) == 40
    assert steps_cap(TrainingConfig(budget="smoke", batch_size=128), {"smoke": 40}, n_train=1258) is None
    assert steps_cap(TrainingConfig(budget="smoke", batch_size=8, epochs=1), {"smoke": 40}, 1258) is None
    steps = []
    original = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: steps.append(1) or original(self, *a, **k))
    genbench.make_model(name, budget="smoke", batch_size=8, hidden=(16,), width=4).fit(digits.train, digits.val)
    assert len(steps) == (80 if name == "gan" else 40)  # the GAN steps two optimisers per step


def test_mixed_precision_trains(digits):
    model = genbench.make_model("vae", hidden=(32,), width=8, epochs=2, amp=True).fit(digits.train, digits.val)
    assert all(math.isfinite(h["train_loss"]) for h in model.history_)


def test_a_redrawing_split_is_redrawn_every_epoch(digits):
    calls = []
    probabilities = digits.train.x

    def redraw(generator):
        calls.append(1)
        return torch.bernoulli(probabilities, generator=generator)

    info = dataclasses.replace(digits.info, value_type="binary", levels=None)
    split = Split(torch.bernoulli(probabilities, generator=torch.Generator().manual_seed(0)), info, redraw=redraw)
    genbench.make_model("vae", hidden=(32,), width=8, epochs=3).fit(split)
    assert len(calls) == 3


def test_a_non_finite_loss_stops_training(digits, monkeypatch):
    model = genbench.make_model("vae", hidden=(32,), width=8, epochs=2)
    monkeypatch.setattr(type(model), "loss", lambda self, x, g: torch.tensor(float("nan"), requires_grad=True))
    with pytest.raises(TrainingFailed, match="training loss became nan in epoch 0"):
        model.fit(digits.train)
