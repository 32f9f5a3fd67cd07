"""Checkpoints load safely, or fail with a clear reason: never a crash, never a silent retrain."""

from __future__ import annotations

import json

import pytest
import torch

import genbench
from genbench.baselines.gan import GAN
from genbench.baselines.vae import VAE
from genbench.checkpoint import checkpoint_paths, save_checkpoint
from genbench.errors import CheckpointError


@pytest.fixture
def saved(digits, tmp_path):
    model = genbench.make_model("vae", hidden=(32,), width=8, latent_dim=4, epochs=1).fit(digits.train)
    stem = tmp_path / "vae"
    save_checkpoint(model, stem)
    return model, stem


def test_round_trip_by_stem_pt_or_json(saved):
    model, stem = saved
    weights, description = checkpoint_paths(stem)
    for path in (stem, weights, description):
        loaded = genbench.load_model(path)
        expected = model.sample(5, torch.Generator().manual_seed(0))
        assert torch.equal(loaded.sample(5, torch.Generator().manual_seed(0)), expected)
    assert json.loads(description.read_text())["config"]["latent_dim"] == 4


def test_truncated_weights_are_refused(saved):
    _, stem = saved
    weights, _ = checkpoint_paths(stem)
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="does not match the checksum.*truncated or corrupt"):
        genbench.load_model(stem)


def test_corrupt_description_is_refused(saved):
    _, stem = saved
    checkpoint_paths(stem)[1].write_text("{not json")
    with pytest.raises(CheckpointError, match="is corrupt"):
        genbench.load_model(stem)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        genbench.load_model(tmp_path / "nothing")


def test_weights_that_do_not_fit_the_config_are_refused(saved):
    _, stem = saved
    description_path = checkpoint_paths(stem)[1]
    description = json.loads(description_path.read_text())
    description["config"]["latent_dim"] = 8
    description_path.write_text(json.dumps(description))
    with pytest.raises(CheckpointError, match="does not fit a vae with the saved config"):
        genbench.load_model(stem)


def test_loading_into_the_wrong_class_is_refused(saved):
    _, stem = saved
    with pytest.raises(CheckpointError, match="holds a 'vae' model, not a 'gan'"):
        GAN.load(stem)
    assert isinstance(VAE.load(stem), VAE)


def test_arbitrary_pickles_are_not_executed(saved):
    """weights_only=True refuses objects other than tensors, even with a matching checksum."""
    import hashlib

    _, stem = saved
    weights, description_path = checkpoint_paths(stem)
    torch.save({"payload": print}, weights)  # a pickled callable
    description = json.loads(description_path.read_text())
    description["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    description_path.write_text(json.dumps(description))
    with pytest.raises(CheckpointError, match="cannot load"):
        genbench.load_model(stem)
