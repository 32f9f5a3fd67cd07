"""The ODE solver and its divergences against closed forms: a linear flow whose solution and log-determinant are
known, scipy's Dormand–Prince on the same problem, and Hutchinson's estimate averaging to the exact trace."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from genbench.infra.ode import exact_divergence, hutchinson_divergence, rademacher, solve

MATRIX = torch.tensor([[-0.5, 1.0, 0.0], [-1.0, -0.2, 0.3], [0.1, 0.0, 0.4]], dtype=torch.float64)


def linear(y: torch.Tensor, s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """dy/ds = (1 + s) A y: y(s) = exp(A (s + s²/2)) y₀, and ∫ div = tr A · (s + s²/2)."""
    velocity = (1 + s) * y @ MATRIX.T
    return velocity, torch.full((len(y),), (1 + s) * MATRIX.trace().item(), dtype=y.dtype)


@pytest.mark.parametrize("rtol", [1e-4, 1e-6, 1e-8])
def test_a_linear_flow_matches_its_closed_form_within_the_tolerance(rtol):
    y0 = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    solution = solve(linear, y0, 0.0, 1.5, rtol=rtol, atol=rtol)
    tau = 1.5 + 1.5**2 / 2
    expected = y0 @ torch.linalg.matrix_exp(MATRIX * tau).T
    assert torch.allclose(solution.y, expected, rtol=0, atol=50 * rtol)
    assert torch.allclose(solution.divergence_integral, torch.full((5,), MATRIX.trace().item() * tau,
                                                                  dtype=torch.float64), atol=50 * rtol)
    torch.testing.assert_close(solve(linear, solution.y, 1.5, 0.0, rtol=rtol, atol=rtol).y, y0, atol=100 * rtol,
                               rtol=0)  # and back


def test_the_steps_agree_with_scipys_dormand_prince():
    """The same method, the same control: the same final state to the tolerance, and a count of the same order."""
    y0 = np.array([1.0, -0.5, 0.25])
    ours = solve(linear, torch.from_numpy(y0)[None], 0.0, 2.0, rtol=1e-6, atol=1e-9)
    theirs = solve_ivp(lambda s, y: (1 + s) * MATRIX.numpy() @ y, (0.0, 2.0), y0, method="RK45", rtol=1e-6,
                       atol=1e-9)
    np.testing.assert_allclose(ours.y[0].numpy(), theirs.y[:, -1], rtol=1e-5, atol=1e-8)
    assert 0.5 * theirs.nfev <= ours.evaluations <= 2 * theirs.nfev


def network():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4)).double()


def test_exact_divergence_is_the_trace_of_the_jacobian():
    net = network()
    y = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    values, divergence = exact_divergence(net, y)
    expected = [torch.autograd.functional.jacobian(net, row).trace() for row in y]
    torch.testing.assert_close(values, net(y))
    torch.testing.assert_close(divergence, torch.stack(expected))


def test_hutchinsons_estimate_averages_to_the_trace_within_its_standard_error():
    """2000 probes at one point: the mean lies within 4 standard errors of the exact trace (the estimate's spread
    is what enters the standard error of a likelihood computed with it)."""
    net = network()
    y = torch.randn(1, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).expand(2000, 4)
    probes = rademacher((2000, 4), torch.Generator().manual_seed(3))
    _, estimates = hutchinson_divergence(net, y, probes)
    _, exact = exact_divergence(net, y[:1])
    spread = estimates.std().item() / math.sqrt(len(estimates))
    assert abs(estimates.mean().item() - exact.item()) < 4 * spread and spread > 0
