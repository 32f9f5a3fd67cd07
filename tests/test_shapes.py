"""The shapes dataset: deterministic rendering, images that agree with their factors, fixed splits."""

from __future__ import annotations

import math

import pytest
import torch

import genbench
from genbench.data.info import ValueType
from genbench.data.shapes import FACTOR_NAMES, SHAPES, ShapesOptions, factor_grid, factor_values, render
from genbench.errors import UsageError


def everything(data):
    return (torch.cat([data.train.x, data.val.x, data.test.x]),
            torch.cat([data.train.factors, data.val.factors, data.test.factors]))


def test_the_full_grid_once_split_70_10_20(shapes):
    assert shapes.info.value_type is ValueType.BINARY and shapes.info.shape == (1, 20, 20)
    assert shapes.info.factor_names == FACTOR_NAMES == ("shape", "scale", "rotation", "x", "y")
    assert [len(shapes.train), len(shapes.val), len(shapes.test)] == [1814, 259, 519]
    x, factors = everything(shapes)
    assert len(torch.unique(factors, dim=0)) == len(factors) == 3 * 4 * 6 * 6 * 6
    assert torch.equal(factors.max(0).values, torch.tensor([2, 3, 5, 5, 5]))
    assert set(x.unique().tolist()) == {0.0, 1.0}
    for split in (shapes.train, shapes.val, shapes.test):
        assert torch.equal(split.labels, split.factors[:, 0])  # shape is the label
    assert shapes.info.n_classes == 3 and shapes.info.extra["class_names"] == list(SHAPES)


def test_rendering_is_deterministic_and_the_split_follows_its_seed(shapes):
    again = genbench.load_dataset("shapes")
    assert torch.equal(again.test.x, shapes.test.x) and again.fingerprint == shapes.fingerprint
    other = genbench.load_dataset("shapes", split_seed=1)
    assert not torch.equal(other.test.factors, shapes.test.factors)
    assert torch.equal(everything(other)[0].sum(0), everything(shapes)[0].sum(0))  # the same images


def test_no_two_images_coincide_and_shapes_stay_inside(shapes):
    x, _ = everything(shapes)
    assert len(torch.unique(x.flatten(1), dim=0)) == len(x) and shapes.provenance["coinciding_images"] == 0
    border = x[..., [0, -1], :].sum() + x[..., :, [0, -1]].sum()
    assert border == 0


def moments(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pixel count, centroid (column, row) in pixel units (centres at k + ½), and the angle of the
    principal axis in degrees, counter-clockwise with rows pointing down (as the renderer)."""
    img = images[:, 0].double()
    size = img.shape[-1]
    centres = torch.arange(size, dtype=torch.float64) + 0.5
    count = img.sum((1, 2))
    cx = (img * centres.view(1, 1, -1)).sum((1, 2)) / count
    cy = (img * centres.view(1, -1, 1)).sum((1, 2)) / count
    dx = centres.view(1, 1, -1) - cx.view(-1, 1, 1)
    dy = cy.view(-1, 1, 1) - centres.view(1, -1, 1)  # up
    mxx, myy, mxy = ((img * dx * dx).sum((1, 2)), (img * dy * dy).sum((1, 2)), (img * dx * dy).sum((1, 2)))
    angle = torch.rad2deg(0.5 * torch.atan2(2 * mxy, mxx - myy))
    return count, torch.stack([cx, cy], dim=1), angle


def test_squares_and_ellipses_sit_at_their_position():
    """Square and ellipse are point-symmetric about their centre, so their pixel centroid is the
    factor's (x, y) up to the rounding of boundary pixels: within a quarter pixel (0.16 seen)."""
    o = ShapesOptions()
    values = factor_values(o)
    grid = factor_grid(o)
    grid = grid[grid[:, 0] < 2]
    _, centroid, _ = moments(render(grid, o))
    expected = torch.tensor([[values["x"][i], values["y"][j]] for i, j in grid[:, 3:].tolist()], dtype=torch.float64)
    assert (centroid - expected).abs().max() < 0.25


def test_area_grows_with_scale_as_the_closed_form():
    """Pixel counts against the areas 4r² (square) and π·1.2·0.6·r² (ellipse): within 2r pixels (a
    quarter of the square's perimeter 8r: each boundary pixel is rounded to 0 or 1 at coverage ½,
    and the errors largely cancel; 3.3 seen against 5.6 to 9.2 allowed), and increasing with scale."""
    o = ShapesOptions()
    r = torch.tensor(factor_values(o)["scale"], dtype=torch.float64)
    for shape, area in ((0, 4 * r**2), (1, math.pi * 0.72 * r**2)):
        rows = torch.tensor([[shape, s, 2, 2, 3] for s in range(o.scales)])
        count, _, _ = moments(render(rows, o))
        assert ((count - area).abs() <= 2 * r).all()
        assert (count.diff() > 0).all()


def test_the_ellipse_turns_counter_clockwise_by_its_rotation():
    """The principal axis of the largest ellipse points at the rotation angle (within 3°, 2.1° seen: a
    rasterised ellipse 11 by 5.5 pixels)."""
    o = ShapesOptions()
    rows = torch.tensor([[1, o.scales - 1, k, 2, 3] for k in range(o.rotations)])
    _, _, angle = moments(render(rows, o))
    assert torch.allclose(angle, torch.tensor(factor_values(o)["rotation"], dtype=torch.float64), atol=3.0)


def test_rotations_of_one_shape_differ_and_the_heart_is_not_symmetric():
    """Over [0°, 90°) every angle gives its own image for every shape (the square's symmetry would
    repeat 0° at 90°); the heart turned by 180° is another image (no point symmetry)."""
    o = ShapesOptions(size=48)
    for shape in range(3):
        rows = torch.tensor([[shape, o.scales - 1, k, 2, 2] for k in range(o.rotations)])
        images = render(rows, o).flatten(1)
        assert len(torch.unique(images, dim=0)) == o.rotations
    heart = render(torch.tensor([[2, 3, 0, 2, 2]]), o)[0, 0]
    flipped = heart.flip(0).flip(1)
    assert not torch.equal(heart, flipped)


def test_options_are_checked_and_coinciding_images_are_counted():
    with pytest.raises(UsageError, match="size"):
        genbench.load_dataset("shapes", size=8)
    with pytest.raises(UsageError, match="positions"):
        genbench.load_dataset("shapes", positions=1)
    seven = genbench.load_dataset("shapes", positions=7)  # rasterisation makes two images coincide
    assert seven.provenance["coinciding_images"] == 1 and len(everything(seven)[1]) == 3 * 4 * 6 * 7 * 7
