"""DDPM/DDIM against closed forms and an oracle network.

For data N(m, s²) (per value) the optimal noise predictor is known: x_t = √ᾱ x_0 + √(1 - ᾱ) ε has
x_t ~ N(√ᾱ m, ᾱ s² + 1 - ᾱ), so E[ε | x_t] = √(1 - ᾱ) (x_t - √ᾱ m) / (ᾱ s² + 1 - ᾱ). Plugged in as the
network, the bound, the samplers and the inversion can be checked against the known density.
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from genbench.baselines.diffusion import Diffusion
from genbench.baselines.diffusion.model import PILOT, UNIFORM_SHARE
from genbench.baselines.diffusion.process import Process
from genbench.data.info import DataInfo, ValueType
from genbench.errors import UsageError

MEAN = torch.tensor([1.5, -0.5, 0.0], dtype=torch.float64)
STD = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)


class Oracle(torch.nn.Module):
    def __init__(self, process: Process, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.process, self.mean, self.std = process, mean, std

    def forward(self, x_t, t):
        a = self.process.alpha_bar[t].reshape(-1, 1)
        eps = (1 - a).sqrt() * (x_t.double() - a.sqrt() * self.mean) / (a * self.std**2 + 1 - a)
        return eps.to(x_t.dtype)


def oracle_model(steps=1000, schedule="linear", **options) -> Diffusion:
    model = Diffusion(steps=steps, schedule=schedule, ema=0.0, **options)
    model.build(DataInfo("gaussian", (len(MEAN),), ValueType.CONTINUOUS))
    model.net = Oracle(model.process, MEAN, STD)
    return model.eval()


def gaussian_data(n: int, seed: int = 0) -> torch.Tensor:
    return (MEAN + STD * torch.randn(n, len(MEAN), generator=torch.Generator().manual_seed(seed),
                                     dtype=torch.float64)).float()


def true_log_density(x: torch.Tensor) -> torch.Tensor:
    return torch.distributions.Normal(MEAN, STD).log_prob(x.double()).sum(1)


# ------------------------------------------------------------------------------------- closed forms


# ------------------------------------------------------------------------------------- the oracle
def test_the_bound_is_below_the_true_log_likelihood_and_tightens_as_t_grows():
    """With the optimal network, E[bound] ≤ log p(x) (a variational bound) and the gap closes as T grows:
    0.29 nats at T = 10, within Monte Carlo error of 0 at T = 1000. 20 000 examples: the gap's standard
    error is about 0.013 nats; the tolerances are 4 of them."""
    x = gaussian_data(20_000)
    truth = true_log_density(x)
    gaps, errors = [], []
    for steps in (10, 1000):
        gap = truth - oracle_model(steps).log_likelihood_bound(x, torch.Generator().manual_seed(1))
        gaps.append(gap.mean().item())
        errors.append(gap.std().item() / math.sqrt(len(x)))
        assert gaps[-1] > -4 * errors[-1], steps
    assert gaps[0] > 0.2
    assert gaps[1] < 4 * errors[1]


def test_the_unbiased_estimate_over_random_steps_agrees_with_the_full_sum():
    """bound_steps=K estimates the same expectation: the means agree within 4 standard errors."""
    x = gaussian_data(3000, seed=2)
    full = oracle_model(100).log_likelihood_bound(x, torch.Generator().manual_seed(1))
    subset = oracle_model(100, bound_steps=10).log_likelihood_bound(x, torch.Generator().manual_seed(2))
    diff = (subset - full).double()
    assert abs(diff.mean().item()) < 4 * diff.std().item() / math.sqrt(len(x))


def test_asking_for_t_terms_or_more_sums_every_term():
    x = gaussian_data(20, seed=3)
    model = oracle_model(100)
    full = model.variational_bound(x, torch.Generator().manual_seed(1))
    for terms, sampling in [(100, None), (100, "importance"), (500, "uniform")]:
        asked = model.variational_bound(x, torch.Generator().manual_seed(1), terms=terms, sampling=sampling)
        assert torch.equal(asked.values, full.values) and asked.evaluations == full.evaluations == 100


def test_importance_sampled_t_is_unbiased_and_tighter_in_spread_than_uniform_t():
    """Nichol & Dhariwal §3.3: t_k ~ p_t ∝ √E[L_{t-1}²], the estimate (1/K) Σ_k L_{t_k-1}/p_{t_k}. Over 3000
    examples (each its own draws) its mean equals the full sum's within 4 standard errors of the difference, and
    its spread per example is below uniform t's at the same K (the first terms dominate)."""
    x = gaussian_data(3000, seed=4)
    model = oracle_model(100)
    full = model.variational_bound(x, torch.Generator().manual_seed(1)).values
    drawn = model.variational_bound(x, torch.Generator().manual_seed(2), terms=10, sampling="importance")
    uniform = model.variational_bound(x, torch.Generator().manual_seed(3), terms=10).values
    diff = (drawn.values - full).double()
    assert abs(diff.mean().item()) < 4 * diff.std().item() / math.sqrt(len(x))
    assert diff.std() < 0.5 * (uniform - full).std()
    p, pilot = model.importance_weights(model.to_network(x), torch.Generator().manual_seed(4))
    assert p.sum().item() == pytest.approx(1.0, abs=1e-12) and p.min().item() >= 0.01 / 100 and pilot == 16 * 100
    assert drawn.evaluations == pytest.approx(10 + 16 * 100 / len(x))  # the pilot's passes, spread over the batch


def test_batches_of_one_random_stream_share_one_pilot():
    """The likelihood metric estimates its examples in batches with one generator: the pilot runs on the first and
    its weights serve the rest (their evaluations are the K terms alone); another stream runs a pilot of its own."""
    x = gaussian_data(64, seed=7)
    model = oracle_model(100)
    generator = torch.Generator().manual_seed(8)
    first, second = (model.variational_bound(batch, generator, terms=10, sampling="importance")
                     for batch in x.split(32))
    assert first.evaluations == 10 + 16 * 100 / 32 and second.evaluations == 10
    weights = model.importance_weights(model.to_network(x[32:]), generator)
    assert weights[1] == 0 and torch.equal(weights[0], model.importance_weights(x, generator)[0])
    other = model.variational_bound(x[32:], torch.Generator().manual_seed(8), terms=10, sampling="importance")
    assert other.evaluations == first.evaluations
    assert model.importance_weights(model.to_network(x), None)[1] == 16 * 100  # no stream to share: always a pilot


def test_the_pilot_batched_across_t_gives_the_weights_of_one_pass_per_t():
    """importance_weights evaluates the pilot's T · PILOT terms in calls of the caller's batch size, t after t. On
    a batch of PILOT examples each of its batches is one t, so one pass per t with the same generator draws the
    same noise and must give the same weights, to the last bit: the rows and their t are paired right."""
    x = gaussian_data(PILOT, seed=5)
    model = oracle_model(100)
    x0 = model.to_network(x)
    p, _ = model.importance_weights(x0, torch.Generator().manual_seed(6))
    generator = torch.Generator().manual_seed(6)
    squares = torch.stack([model.bound_term(x0, torch.full((PILOT,), t), generator).square().mean()
                           for t in range(1, 101)])
    weights = squares.sqrt()
    assert torch.equal(p, (1 - UNIFORM_SHARE) * weights / weights.sum() + UNIFORM_SHARE / 100)


class LearnedOracle(Oracle):
    """The oracle's ε with a v beside it: the constant ``v``, or (None) the v whose σ_t² is the optimal variance
    of the reverse step for Gaussian data, β̃_t + c_t² Var(x_0 | x_t) with c_t = √ᾱ_{t-1} β_t / (1 - ᾱ_t) and
    Var(x_0 | x_t) = s² (1 - ᾱ_t) / (ᾱ_t s² + 1 - ᾱ_t) (the KL to q(x_{t-1} | x_t, x_0), averaged over x_0 | x_t,
    is least there; β̃_1 = 0, so at t = 1 it is Var(x_0 | x_1))."""

    def __init__(self, process, mean, std, v=None):
        super().__init__(process, mean, std)
        self.v = v

    def forward(self, x_t, t):
        eps = super().forward(x_t, t)
        if self.v is not None:
            return torch.cat([eps, torch.full_like(eps, self.v)], dim=1)
        p = self.process
        beta, a, a_prev = p.beta[t].reshape(-1, 1), p.alpha_bar[t].reshape(-1, 1), p.alpha_bar[t - 1].reshape(-1, 1)
        tilde = (1 - a_prev) / (1 - a) * beta
        optimal = tilde + (a_prev.sqrt() * beta / (1 - a)) ** 2 * self.std**2 * (1 - a) / (a * self.std**2 + 1 - a)
        log_tilde = p.log_tilde_beta[t].reshape(-1, 1)
        v = (optimal.log() - log_tilde) / (beta.log() - log_tilde)
        return torch.cat([eps, v.to(eps.dtype)], dim=1)


def test_learned_variances_at_their_optimum_give_a_bound_at_least_as_tight_as_beta():
    """With the oracle mean and the optimal variance every term's expected KL is least, so the bound is at least
    as tight as with σ_t² = β_t: paired on the same draws over 5000 examples, T = 10, it is 0.26 ± 0.008 nats tighter
    (of the 0.30 nats β_t leaves below log p(x)), and no term is looser beyond 4 standard errors."""
    x = gaussian_data(5000, seed=6)
    fixed = oracle_model(10)
    learned = oracle_model(10, variance="learned")
    learned.net = LearnedOracle(learned.process, MEAN, STD)
    for step in range(1, 11):
        t = torch.full((len(x),), step)
        diff = (learned.bound_term(x.double(), t, torch.Generator().manual_seed(step))
                - fixed.bound_term(x.double(), t, torch.Generator().manual_seed(step)))  # L: lower is tighter
        assert diff.mean().item() <= 4 * diff.std().item() / math.sqrt(len(x)) + 1e-9, step  # t = 1: σ* ≈ β_1
    gain = (learned.log_likelihood_bound(x, torch.Generator().manual_seed(1))
            - fixed.log_likelihood_bound(x, torch.Generator().manual_seed(1)))
    assert gain.mean().item() > 0.2 and gain.mean().item() > 4 * gain.std().item() / math.sqrt(len(x))


def test_with_v_one_the_learned_model_is_the_fixed_one_and_the_discretized_decoder_is_unchanged():
    """v = 1 is σ_t² = β_t: every term, the discretized L_0 on a 17-level grid included, equals the fixed model's."""
    info = DataInfo("grid", (3,), ValueType.DISCRETE, levels=17)
    fixed, learned = Diffusion(steps=20, ema=0.0), Diffusion(steps=20, ema=0.0, variance="learned")
    for model in (fixed, learned):
        model.build(info)
    fixed.net = Oracle(fixed.process, MEAN / 4, STD / 4)
    learned.net = LearnedOracle(learned.process, MEAN / 4, STD / 4, v=1.0)
    x0 = torch.tensor([[-1.0, 0.125, 1.0], [0.5, -0.25, -1.0]], dtype=torch.float64)
    for step in (1, 2, 20):
        t = torch.full((2,), step)
        torch.testing.assert_close(learned.bound_term(x0, t, torch.Generator().manual_seed(0)),
                                   fixed.bound_term(x0, t, torch.Generator().manual_seed(0)), rtol=1e-12, atol=1e-12)


def test_the_hybrid_loss_trains_v_and_samples_with_it(digits):
    """A learned-variance model trains on L_simple + λ L_vlb (finite, the v output moving from 0) and samples on
    the grid with the ancestral sampler, which draws with its σ_t."""
    model = Diffusion(variance="learned", steps=50, width=8, epochs=2, sampler="ddpm").fit(
        digits.train, generator=torch.Generator().manual_seed(0))
    assert all(math.isfinite(h["loss"]) for h in model.history_ if "loss" in h)
    v = model.predict(model.to_network(digits.test.x[:4]), 10)[1]
    assert v is not None and v.abs().max().item() > 0
    samples = model.sample(8, torch.Generator().manual_seed(1))
    assert samples.shape == (8, *digits.info.shape) and torch.isfinite(samples).all()


def test_the_metric_measures_the_ode_as_an_estimator_with_its_cost():
    """``log-likelihood:estimator=ode`` gives probability_flow_log_density's values (the oracle test above checks
    those against the truth), kind ODE, with the solver's tolerance, divergence and evaluations in the details."""
    from genbench.data import Split
    from genbench.data.splits import Data
    from genbench.estimators import ODE
    from genbench.metrics.likelihood import LogLikelihood
    from genbench.service.evaluation import eval_context

    model = ode_oracle(100)
    info = model.info_
    x = gaussian_data(8, seed=5)
    data = Data(info, Split(x, info), Split(x, info, name="val"), Split(x, info, name="test"))
    assert list(model.likelihood_estimators()) == ["vlb", "ode"]
    ll, bits, speed = LogLikelihood(estimator="ode", rtol=1e-6).compute(model, data, eval_context())
    expected, evaluations = model.probability_flow_log_density(x, rtol=1e-6, atol=1e-6)
    assert ll.value == pytest.approx(expected.mean().item(), abs=1e-9)
    assert ll.estimator == "ode(rtol=1e-06, atol=1e-06, divergence=exact)"
    assert (ll.details["likelihood"], ll.details["nfe"], ll.details["dequantized"]) == (ODE, evaluations, False)
    assert speed.details["nfe"] == evaluations


@pytest.mark.parametrize("options", [dict(sampler="ddpm"), dict(sampler="ddim", sample_steps=50, eta=0.0),
                                     dict(sampler="ddim", sample_steps=1000, eta=1.0),
                                     dict(sampler="dpm2m", sample_steps=50)],
                         ids=["ddpm", "ddim", "ddim-eta1-every-step", "dpm-solver"])
def test_samples_from_the_oracle_have_the_data_s_mean_and_variance(options):
    """n = 4 000 draws: each mean within 4 standard errors (s/√n), each variance within 4 standard
    errors of a Gaussian variance (s²√(2/n)) plus 2% for DDIM's discretisation at S = 50."""
    model = oracle_model(1000, **options)
    samples = model.sample(4000, torch.Generator().manual_seed(3)).double()
    n = len(samples)
    assert (samples.mean(0) - MEAN).abs().le(4 * STD / math.sqrt(n)).all(), samples.mean(0)
    tolerance = 4 * STD**2 * math.sqrt(2 / n) + 0.02 * STD**2
    assert (samples.var(0) - STD**2).abs().le(tolerance).all(), samples.var(0)


def exact_flow_end(model: Diffusion, x_T: torch.Tensor) -> torch.Tensor:
    """x̂_0 at τ_1 of the probability-flow ODE's exact solution from x_T, for the Gaussian data and its oracle: in
    DDIM's variables x̄ = x/√ᾱ and σ̄² = (1 - ᾱ)/ᾱ the field is σ̄ (x̄ - μ) / (s² + σ̄²), so x̄ - μ grows as
    √(s² + σ̄²) from σ̄_T down to σ̄_1; x̂_0 is then the oracle's prediction there."""
    a_end, a_start = model.process.alpha_bar[model.process.steps].item(), model.process.alpha_bar[1].item()
    xbar = MEAN + (x_T.double() / math.sqrt(a_end) - MEAN) * torch.sqrt(
        (STD**2 + (1 - a_start) / a_start) / (STD**2 + (1 - a_end) / a_end))
    x_1 = math.sqrt(a_start) * xbar
    return (x_1 - math.sqrt(1 - a_start) * model.eps(x_1.float(), 1).double()) / math.sqrt(a_start)


def test_dpm_solver_reaches_the_exact_flow_at_second_order_where_ddim_is_first():
    """Against the exact solution (``exact_flow_end``), the mean error in units of the data's std: DDIM's halves as
    S doubles (0.081 at S = 20, 0.041 at 40, first order), DPM-Solver++(2M)'s falls about sevenfold (0.014, 0.0020)
    and is a sixth of DDIM's at S = 20. Asked: a fall of more than 3× for the solver, less than 2.2× for DDIM, and
    the solver under a third of DDIM's error at S = 20 and 40."""
    x_T = torch.randn(2000, 3, generator=torch.Generator().manual_seed(0))
    errors = {}
    for sampler in ("ddim", "dpm2m"):
        for steps in (20, 40):
            model = oracle_model(1000, sampler=sampler, sample_steps=steps)
            times = model.process.ddim_times(steps)
            end = model.solve(x_T, times) if sampler == "dpm2m" else model.generate(x_T, times, 0.0, None)
            errors[sampler, steps] = ((end.double() - exact_flow_end(model, x_T)).abs() / STD).mean().item()
    assert errors["ddim", 20] / errors["ddim", 40] < 2.2
    assert errors["dpm2m", 20] / errors["dpm2m", 40] > 3
    assert errors["dpm2m", 20] < errors["ddim", 20] / 3 and errors["dpm2m", 40] < errors["ddim", 40] / 3
    samples = oracle_model(1000, sampler="dpm2m", sample_steps=20).sample(len(x_T), torch.Generator().manual_seed(3))
    assert (samples.double().mean(0) - MEAN).abs().le(4 * STD / math.sqrt(len(x_T))).all()


def test_the_unet_on_patches_sees_each_2x2_block_as_one_position_and_gives_pixels_back():
    """With patch 2 a 28×28 image enters as 14×14 positions of 4 channels (pixel unshuffle), the network's levels are
    those of a 4-channel 14×14 image, and the output is 28×28 again (pixel shuffle); an odd-sized image is not
    patched. The defaults: patches of 2 and width 32 on 28×28 images, pixels and width 16 on 8×8."""
    from genbench.baselines.diffusion.networks import UNet, unet_channels

    torch.manual_seed(0)
    net = UNet((1, 28, 28), width=8, levels=2, patch=2)
    assert net.stem.in_channels == 4 and unet_channels((4, 14, 14), 8, 2) == [8, 16]
    torch.nn.init.normal_(net.head[-1].weight, std=0.1)
    x, t = torch.randn(2, 1, 28, 28), torch.tensor([5, 500])
    assert net(x, t).shape == (2, 1, 28, 28)
    unpatched = UNet((1, 7, 7), width=8, levels=2, patch=2)  # 7 is odd: no patches
    assert unpatched.patch == 1 and unpatched.stem.in_channels == 1
    info = DataInfo("mnist-like", (1, 28, 28), ValueType.DISCRETE, levels=256)
    digits_like = DataInfo("digits-like", (1, 8, 8), ValueType.DISCRETE, levels=17)
    config = Diffusion().config
    assert (config.patch_for(info), config.width_for(info)) == (2, 32)
    assert (config.patch_for(digits_like), config.width_for(digits_like)) == (1, 16)


def test_min_snr_weights_are_min_snr_gamma_over_snr_and_one_without_it():
    """w_t = min(SNR_t, γ) / SNR_t, SNR_t = ᾱ_t / (1 - ᾱ_t): below 1 only where SNR_t > γ (the low-noise steps)."""
    weighted, plain = oracle_model(1000, min_snr=5.0), oracle_model(1000, min_snr=None)
    t = torch.tensor([1, 10, 100, 200, 500, 1000])
    alpha_bar = weighted.process.alpha_bar[t]
    snr = alpha_bar / (1 - alpha_bar)
    expected = torch.where(snr > 5, 5 / snr, torch.ones_like(snr))
    assert torch.allclose(weighted.snr_weights(t), expected)
    assert weighted.snr_weights(t)[0] < 1e-3 and weighted.snr_weights(t)[-1] == 1
    assert torch.equal(plain.snr_weights(t), torch.ones(len(t)))
    with pytest.raises(UsageError, match="min_snr must be positive"):
        Diffusion(min_snr=0)


def test_ddim_inversion_then_generation_returns_the_example():
    """encode (DDIM inversion) then decode (DDIM generation). Inversion evaluates ε_θ at each step's far end,
    an error of first order in the step: measured with the oracle, the mean error falls as 1/S (14% of the
    data's scale at S = 20, 1.6% at 200, 0.33% at 1000). Checked: under 0.5% on average and 3% at worst at
    S = 1000, and a quarter or less of the error at S = 200; the codes of the data are N(0, I)."""
    x = gaussian_data(500, seed=4)
    errors = []
    for steps in (200, 1000):
        model = oracle_model(1000, latent_steps=steps)
        z = model.encode(x)
        assert z.shape == x.shape
        errors.append((model.decode(z) - x).abs().double() / STD)
    assert errors[1].mean().item() < 0.005 and errors[1].max().item() < 0.03
    assert errors[1].mean().item() < errors[0].mean().item() / 4
    assert stats.kstest(z[:, 0].numpy(), "norm").pvalue > 1e-3


# --------------------------------------------------------------------------------------- the model
def test_a_trained_model_on_digits_samples_on_the_grid_and_bounds_a_log_mass(digits):
    model = Diffusion(epochs=3, width=8, steps=50, sample_steps=5)
    model.fit(digits.train, digits.val, generator=torch.Generator().manual_seed(0))
    samples = model.sample(16, torch.Generator().manual_seed(1))
    assert torch.equal(samples, digits.info.quantize(samples))
    bound = model.log_likelihood_bound(digits.split("test").x[:8], torch.Generator().manual_seed(2))
    assert bool((bound < 0).all())
    assert model.bound_settings() == {"bound": "variational", "T": 50}


@pytest.mark.parametrize("options,message", [
    (dict(sample_steps=2000), "sample_steps (2000) cannot exceed the diffusion's steps (1000)"),
    (dict(steps=0), "steps must be positive, got 0"),
    (dict(sample_steps=-1), "sample_steps must be positive, got -1"),
    (dict(schedule="quadratic"), "unknown schedule 'quadratic'; choose one of linear, cosine"),
    (dict(sampler="euler"), "unknown sampler 'euler'"),
    (dict(bound_steps=5000), "bound_steps (5000) cannot exceed"),
])
def test_bad_options_are_refused_with_one_sentence(options, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Diffusion(**options)


def test_the_command_line_refuses_bad_steps_with_exit_2(cli, tmp_path):
    result = cli("run", "--models", "diffusion:sample_steps=2000", "--out", tmp_path / "run", "--quiet")
    assert result.code == 2
    assert "sample_steps (2000) cannot exceed the diffusion's steps (1000)" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


def test_mixed_precision_trains_and_samples(digits):
    """amp=true: the U-Net under bfloat16 autocast gives a finite loss and samples on the grid."""
    model = Diffusion(epochs=1, width=8, steps=50, amp=True)
    model.fit(digits.train, generator=torch.Generator().manual_seed(0))
    assert all(math.isfinite(h["train_loss"]) for h in model.history_)
    samples = model.sample(8, torch.Generator().manual_seed(1))
    assert torch.equal(samples, digits.info.quantize(samples))


def test_the_ema_follows_the_trained_weights_and_is_what_evaluation_uses(digits):
    """The moving average is updated once per optimiser step (2 epochs × 9 full batches of 128 of 1258 examples),
    differs from the trained weights, and is what evaluation uses; with ema = 0 the trained network is."""
    model = Diffusion(epochs=2, width=8, steps=50, ema=0.9, batch_size=128)
    model.fit(digits.train, generator=torch.Generator().manual_seed(0))
    assert model.network is model.ema_net and model.ema_updates_.item() == 18
    trained = torch.cat([p.flatten() for p in model.net.parameters()])
    averaged = torch.cat([p.flatten() for p in model.ema_net.parameters()])
    assert not torch.equal(trained, averaged)
    plain = Diffusion(ema=0.0, epochs=1, width=8).fit(digits.train)
    assert plain.network is plain.net and plain.ema_updates_.item() == 0


def test_the_steps_metric_measures_each_s_and_agrees_with_fidelity_at_the_model_s_own(digits):
    """FID and samples/s per S; S > T is n/a with the reason; at the model's own S the samples are the fidelity
    metric's (one random stream), so the FID is the same number; a one-pass model has no steps to vary."""
    from genbench.metrics.fidelity import Fidelity
    from genbench.metrics.sampling_steps import SamplingSteps
    from genbench.service.evaluation import eval_context

    model = Diffusion(epochs=1, width=8, steps=50, sample_steps=5)
    model.fit(digits.train, generator=torch.Generator().manual_seed(0))
    context = eval_context(seed=0)
    steps = SamplingSteps(steps=(2, 5, 100), n=359)
    records = {r.metric: r for r in steps.compute(model, digits, context)}
    assert records["steps_fid[steps=100]"].status == "unavailable"
    assert "100 sampling steps exceed the diffusion's T = 50" in records["steps_fid[steps=100]"].reason
    assert all(records[f"steps_{m}[steps={s}]"].value > 0 for m in ("fid", "samples_per_second") for s in (2, 5))
    assert all(0 < records[f"steps_fid[steps={s}]"].stderr < records[f"steps_fid[steps={s}]"].value for s in (2, 5))
    assert records["steps_fid[steps=5]"].details["bootstrap"]["replicates"] == 20
    fidelity = {r.metric: r for r in Fidelity(n=359, bootstrap=0).compute(model, digits, context)}
    assert records["steps_fid[steps=5]"].value == fidelity["fid"].value
    assert model.config.sample_steps == 5  # restored after the sweep
    assert SamplingSteps().unavailable_reason(genbench_gan(), digits) == (
        "gan samples in one pass: it has no steps to trade for quality")
    too_few = SamplingSteps(steps=(5,), n=100).compute(model, digits, context)
    assert all(r.status == "unavailable" and "FID needs more samples than feature dimensions" in r.reason
               for r in too_few)


def genbench_gan():
    import genbench

    return genbench.make_model("gan")


# --------------------------------------------------------------------------- the probability-flow ODE
class ContinuousOracle(Oracle):
    """The oracle at any step t, ᾱ(t) interpolated as the ODE interpolates it (between the steps' log σ̄)."""

    def forward(self, x_t, t):
        t = t.double().clamp(1, len(self.rho))
        low = t.floor().long().clamp(max=len(self.rho) - 1)
        weight = t - low
        rho = self.rho[low - 1] * (1 - weight) + self.rho[low] * weight
        sigma2 = (2 * rho).exp().reshape(-1, 1)
        a = 1 / (1 + sigma2)
        eps = (1 - a).sqrt() * (x_t.double() - a.sqrt() * self.mean) / (a * self.std**2 + 1 - a)
        return eps.to(x_t.dtype)


def ode_oracle(steps=1000) -> Diffusion:
    model = oracle_model(steps)
    model.net = ContinuousOracle(model.process, MEAN, STD)
    model.net.rho = model.flow_times()[0]
    return model


@pytest.mark.parametrize("tolerance", [1e-3, 1e-5, 1e-7])
def test_the_ode_log_likelihood_with_the_oracle_is_the_true_log_density(tolerance):
    """With the exact score the probability-flow ODE carries the data's density exactly: at its first noise level
    σ̄₁ = √(β₁/(1 − β₁)) the density is N(m, s² + σ̄₁²) per value. The ODE's figure is that, but for the prior at
    the far end, N(0, 1 + σ̄_T²) where the truth is N(m, s² + σ̄_T²) at x̄_T = m + (x̄₁ − m)·√((s² + σ̄_T²)/(s² +
    σ̄₁²)) (up to 0.01 nats here, from the mean 1.5): with that misfit in closed form, the ODE equals the true
    log-density per example within the solver's tolerance, and stays so as the tolerance tightens."""
    model = ode_oracle()
    x = gaussian_data(6, seed=3).double()
    sigma_sq = ((1 - model.process.alpha_bar) / model.process.alpha_bar)[[1, -1]].tolist()
    truth = torch.distributions.Normal(MEAN, (STD**2 + sigma_sq[0]).sqrt()).log_prob(x).sum(1)
    far = MEAN + (x - MEAN) * ((STD**2 + sigma_sq[1]) / (STD**2 + sigma_sq[0])).sqrt()
    misfit = (torch.distributions.Normal(0.0, math.sqrt(1 + sigma_sq[1])).log_prob(far).sum(1)
              - torch.distributions.Normal(MEAN, (STD**2 + sigma_sq[1]).sqrt()).log_prob(far).sum(1))
    got, evaluations = model.probability_flow_log_density(x, rtol=tolerance, atol=tolerance)
    assert misfit.abs().max().item() > 1e-3  # what the closed form accounts for
    assert (got - (truth + misfit)).abs().max().item() < 100 * tolerance
    assert evaluations > 10
