"""What ``--budget paper`` costs on 28×28 images: measured on this CPU, computed for a GPU.

    python tests/benchmarks/paper_budget.py [--data ../shared/data/mnist-t10k.npz] [--steps 12]
        [--gpu-tflops 19.5] [--launch-us 10]

For each trained default model, a short fit (``--steps`` optimiser steps of its own batch size, the first one
untimed) gives the seconds per step on this machine's CPU; the paper budget's steps on 28×28 images
(``steps_by_budget["paper"]`` × ``size_factor(784)``) times that is the CPU cost. The GPU cost is computed, not
measured (no GPU here): per step, the floating-point operations counted by ``torch.utils.flop_counter`` at a
sustained ``--gpu-tflops`` (FP32 without tensor cores: 19.5 on an A100, 67 on an H100 SXM), plus one kernel
launch of ``--launch-us`` microseconds for every ATen operation the step dispatches (small networks are bound
by launches, not arithmetic). Training only: the metrics' cost is the default budget's, which real_mnist.py
measures.

Without the data file the images are uniform noise of MNIST's shape and grid: the cost of a step does not
depend on what the pixels show.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

DEFAULT_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist-t10k.npz"
TRAINED = ("ae", "vae", "beta-vae", "gan", "flow", "diffusion")


class OperationCounter(TorchDispatchMode):
    """Counts the ATen operations dispatched: on a GPU, about one kernel launch each."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def images(data: Path):
    import genbench
    from genbench.data.info import DataInfo, ValueType
    from genbench.data.splits import make_data

    if data.is_file():
        return genbench.load_dataset(data)
    x = torch.randint(0, 256, (2000, 1, 28, 28), generator=torch.Generator().manual_seed(0)).float() / 255
    info = DataInfo(name="noise-28x28", shape=(1, 28, 28), value_type=ValueType.DISCRETE, levels=256)
    return make_data(x, info)


def fit_steps(name: str, data, steps: int, batch_size: int) -> float:
    """Seconds for ``steps`` optimiser steps of ``name`` (one epoch over steps × batch examples)."""
    import genbench

    x = data.train.x[: steps * batch_size]
    model = genbench.make_model(name, epochs=1)
    start = time.perf_counter()
    model.fit(x, data.val.x[:batch_size], generator=torch.Generator().manual_seed(0))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--gpu-tflops", type=float, default=19.5)
    parser.add_argument("--launch-us", type=float, default=10.0)
    args = parser.parse_args()

    import genbench
    from genbench.defaults import size_factor

    data = images(args.data)
    values = math.prod(data.info.shape)
    print(f"data: {data.name} ({values} values per example), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}")
    print("| model | paper steps | CPU s/step | CPU hours | GFLOP/step | ops/step | GPU s/step (computed) "
          "| GPU hours |")
    print("|---|---|---|---|---|---|---|---|")
    total_cpu = total_gpu = 0.0
    for name in TRAINED:
        model_class = genbench.make_model(name).__class__
        batch = genbench.make_model(name).config.batch_size
        paper = round(model_class.steps_by_budget["paper"] * size_factor(values))
        fit_steps(name, data, 2, batch)  # untimed: first calls pay for lazy set-up
        per_step = fit_steps(name, data, args.steps, batch) / args.steps
        flops, ops = FlopCounterMode(display=False), OperationCounter()
        with flops, ops:
            fit_steps(name, data, 2, batch)
        flop_step, op_step = flops.get_total_flops() / 2, ops.count / 2
        gpu_step = flop_step / (args.gpu_tflops * 1e12) + op_step * args.launch_us * 1e-6
        cpu_hours, gpu_hours = paper * per_step / 3600, paper * gpu_step / 3600
        total_cpu, total_gpu = total_cpu + cpu_hours, total_gpu + gpu_hours
        print(f"| {name} | {paper:,} | {per_step:.3f} | {cpu_hours:.1f} | {flop_step / 1e9:.2f} | {op_step:,.0f} | "
              f"{gpu_step * 1e3:.1f} ms | {gpu_hours:.2f} |", flush=True)
    print(f"| all six | | | {total_cpu:.1f} | | | | {total_gpu:.2f} |")


if __name__ == "__main__":
    main()
