"""An adaptive Runge–Kutta solver for the log-density of an ODE-defined map, and the divergence it integrates.

For dy/ds = f(y, s) carrying y(s₀) = y₀ to y(s₁), the instantaneous change of variables (Chen et al. 2018,
"Neural ordinary differential equations", Theorem 1) gives

    log p₀(y₀) = log p₁(y(s₁)) + ∫_{s₀}^{s₁} div f(y(s), s) ds,

so the solver carries the running integral of the divergence beside the state. The divergence is exact,
tr ∂f/∂y by one vector–Jacobian product per dimension (``exact_divergence``), or Hutchinson's unbiased estimate
vᵀ(∂f/∂y)v with one Rademacher probe v per example held for the whole path (``hutchinson_divergence``;
Hutchinson 1990, as FFJORD uses it: Grathwohl et al. 2019).

The solver is Dormand–Prince 5(4) (Dormand & Prince 1980; Hairer, Nørsett & Wanner, "Solving ordinary
differential equations I", §II.5), the pair of scipy's ``RK45``, with the standard step control: a step is
accepted when every example's error, the root mean square over its components of err / (atol + rtol·max(|y|,
|y_new|)), is at most 1, and the next step is h·min(5, max(0.2, 0.9·err^(−1/5))). Written here rather than taken
from torchdiffeq: thirty lines, no dependency, and the count of function evaluations per example, which the
records report, falls out of it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch
from torch.func import jacrev, vmap

Field = Callable[[torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]]
"""f(y, s) → (dy/ds (N, D), div f (N,)) for a batch of states y (N, D) at time s."""

# Dormand–Prince 5(4): nodes c, stages a, fifth-order weights b (also the last stage: first same as last) and the
# difference e between the fifth- and fourth-order weights.
C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
A = ((), (1 / 5,), (3 / 40, 9 / 40), (44 / 45, -56 / 15, 32 / 9),
     (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
     (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
     (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84))
B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
E = (71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40)
MAX_STEPS = 10_000


@dataclasses.dataclass(frozen=True)
class Solution:
    """The state at s₁, the integral of the divergence from s₀ to s₁ (N,), and what it cost."""

    y: torch.Tensor
    divergence_integral: torch.Tensor
    evaluations: int
    """Evaluations of f (of the whole batch: network passes per example)."""
    steps: int
    rejected: int


def solve(field: Field, y0: torch.Tensor, s0: float, s1: float, rtol: float = 1e-5, atol: float = 1e-5,
          first_step: float | None = None) -> Solution:
    """Integrate dy/ds = f from s₀ to s₁ (either direction), carrying ∫ div f ds (module docstring)."""
    span = s1 - s0
    direction = 1.0 if span >= 0 else -1.0
    y, logdet = y0, y0.new_zeros(len(y0))
    s = s0
    h = direction * (first_step if first_step is not None else abs(span) / 100)
    k_first = field(y, s)
    evaluations, steps, rejected = 1, 0, 0
    while direction * (s1 - s) > 1e-12 * max(1.0, abs(span)):
        h = direction * min(abs(h), abs(s1 - s))
        ks = [k_first]
        for i in range(1, 7):
            dy = sum((a * k[0] for a, k in zip(A[i], ks) if a), torch.zeros_like(y))
            dl = sum((a * k[1] for a, k in zip(A[i], ks) if a), torch.zeros_like(logdet))
            ks.append(field(y + h * dy, s + C[i] * h) if i < 6 else field(y + h * dy, s + h))
            if i == 6:
                y_new, logdet_new = y + h * dy, logdet + h * dl
        evaluations += 6
        error_y = h * sum((e * k[0] for e, k in zip(E, ks) if e), torch.zeros_like(y))
        error_l = h * sum((e * k[1] for e, k in zip(E, ks) if e), torch.zeros_like(logdet))
        scale_y = atol + rtol * torch.maximum(y.abs(), y_new.abs())
        scale_l = atol + rtol * torch.maximum(logdet.abs(), logdet_new.abs())
        per_value = torch.cat([(error_y / scale_y).square(), (error_l / scale_l).square()[:, None]], dim=1)
        error = per_value.mean(1).sqrt().max().item()
        if error <= 1.0:
            s, y, logdet, k_first = s + h, y_new, logdet_new, ks[6]
            steps += 1
        else:
            rejected += 1
        h = h * min(5.0, max(0.2, 0.9 * (error if error > 0 else 1e-10) ** -0.2))
        if steps + rejected > MAX_STEPS:
            raise RuntimeError(f"the ODE solver took {MAX_STEPS} steps without reaching s = {s1} (at s = {s}); "
                               "loosen its tolerance")
    return Solution(y, logdet, evaluations, steps, rejected)


def exact_divergence(velocity: Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(velocity(y), tr ∂velocity/∂y per example) for a per-example map on y (N, D), by one vector–Jacobian
    product per dimension (D backward passes, batched with ``torch.func``)."""
    def one(row: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = velocity(row.unsqueeze(0)).squeeze(0)
        return out, out

    jacobian, values = vmap(jacrev(one, has_aux=True))(y)
    return values, jacobian.diagonal(dim1=1, dim2=2).sum(1)


def hutchinson_divergence(velocity: Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor, probe: torch.Tensor,
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """(velocity(y), vᵀ(∂velocity/∂y)v per example) with the probes v (N, D): unbiased for the trace when v has
    mean 0 and identity covariance (Rademacher ±1)."""
    with torch.enable_grad():
        y = y.detach().requires_grad_(True)
        out = velocity(y)
        (vjp,) = torch.autograd.grad(out, y, grad_outputs=probe)
    return out.detach(), (vjp * probe).sum(1).detach()


def rademacher(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str = "cpu",
               dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """±1 with probability ½ each."""
    bits = torch.randint(0, 2, shape, generator=generator, device=device)
    return (2 * bits - 1).to(dtype)


def gaussian_log_density(y: torch.Tensor, variance: float) -> torch.Tensor:
    """log N(y; 0, variance·I) per row of y (N, D)."""
    d = y.shape[1]
    return -0.5 * (y.square().sum(1) / variance + d * math.log(2 * math.pi * variance))
