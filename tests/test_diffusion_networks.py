"""The diffusion model's networks alone (``genbench.baselines.diffusion.networks``): the time embedding's closed
form, and that each network maps x_t to an ε of x_t's shape that depends on t."""

from __future__ import annotations

import math

import torch

from genbench.baselines.diffusion.networks import TimeMLP, UNet, time_embedding


def test_the_time_embedding_is_sines_and_cosines_at_geometric_frequencies():
    t, dim = torch.tensor([0, 1, 7, 999]), 8
    embedding = time_embedding(t, dim)
    for row, step in zip(embedding, t.tolist()):
        frequencies = [10_000 ** (-k / 4) for k in range(4)]
        expected = [math.sin(step * f) for f in frequencies] + [math.cos(step * f) for f in frequencies]
        torch.testing.assert_close(row, torch.tensor(expected, dtype=torch.float32), rtol=1e-5, atol=1e-5)


def test_the_unet_gives_each_image_an_output_of_its_shape_that_depends_on_t():
    torch.manual_seed(0)
    net = UNet((1, 8, 8), width=8, levels=2, outputs=2)
    x = torch.randn(3, 1, 8, 8)
    out = net(x, torch.tensor([1, 1, 1]))
    assert out.shape == (3, 2, 8, 8)
    for layer in net.modules():  # the output layer starts at zero (a first prediction of ε = 0): perturb it
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.normal_(layer.weight, std=0.1)
    assert not torch.allclose(net(x, torch.tensor([1, 1, 1])), net(x, torch.tensor([500, 500, 500])))


def test_the_time_mlp_starts_at_zero_and_depends_on_t_once_trained():
    torch.manual_seed(0)
    net = TimeMLP(dim=3, hidden=(16, 16))
    x = torch.randn(4, 3)
    assert torch.equal(net(x, torch.tensor([5] * 4)), torch.zeros(4, 3))  # ε_θ starts at zero
    torch.nn.init.normal_(net.out[-1].weight, std=0.1)
    assert net(x, torch.tensor([5] * 4)).shape == (4, 3)
    assert not torch.allclose(net(x, torch.tensor([5] * 4)), net(x, torch.tensor([900] * 4)))
