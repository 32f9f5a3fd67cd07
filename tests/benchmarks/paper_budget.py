"""What ``--budget paper`` costs on the whole of MNIST (55 000 training images): its FLOPs, measured CPU hours on
this machine, computed GPU hours.

    python tests/benchmarks/paper_budget.py [--train 55000] [--steps 12] [--threads 1]
        [--gpu-tflops 19.5] [--launch-us 10]

The paper budget grants every trained model ``genbench.budget.named_flops("paper", N · 784)`` training FLOPs (N
the training examples of 784 values each; 2.8·10¹⁵ on MNIST). For each trained default model, a short fit
(``--steps`` optimiser steps of its own batch size, after an untimed one of two) gives its FLOPs per step (counted
by the training loop) and its seconds per step on this machine's CPU at ``--threads``; the budget's steps times
those seconds is the CPU cost.
The GPU cost is computed, not measured (no GPU here): per step, the FLOPs at a sustained ``--gpu-tflops`` (FP32
without tensor cores: 19.5 on an A100, 67 on an H100 SXM), plus one kernel launch of ``--launch-us`` microseconds
for every ATen operation the step dispatches (small networks are bound by launches, not arithmetic). Training only:
the metrics' cost is the default budget's, which the real-MNIST reference run measures.

The images are uniform noise of MNIST's shape and grid: the cost of a step does not depend on what the pixels
show, and the benchmark needs no data file.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

TRAINED = ("ae", "vae", "beta-vae", "gan", "flow", "diffusion")
VALUES_PER_IMAGE = 28 * 28


class OperationCounter(TorchDispatchMode):
    """Counts the ATen operations dispatched: on a GPU, about one kernel launch each."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def images():
    from genbench.data.info import DataInfo, ValueType
    from genbench.data.splits import make_data

    x = torch.randint(0, 256, (4000, 1, 28, 28), generator=torch.Generator().manual_seed(0)).float() / 255
    info = DataInfo(name="noise-28x28", shape=(1, 28, 28), value_type=ValueType.DISCRETE, levels=256)
    return make_data(x, info)


def fit_steps(name: str, data, steps: int, batch_size: int) -> tuple[float, float]:
    """(seconds, FLOPs per step) of ``steps`` optimiser steps of ``name`` (one epoch over steps × batch examples)."""
    import genbench

    x = data.train.x[: steps * batch_size]
    model = genbench.make_model(name, epochs=1)
    start = time.perf_counter()
    model.fit(x, None, generator=torch.Generator().manual_seed(0))
    return time.perf_counter() - start, model.training_["flops_per_step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=55_000, help="training examples the budget is for")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gpu-tflops", type=float, default=19.5)
    parser.add_argument("--launch-us", type=float, default=10.0)
    args = parser.parse_args()

    import genbench
    from genbench.budget import named_flops, readable_flops

    torch.set_num_threads(args.threads)
    data = images()
    budget = named_flops("paper", args.train * VALUES_PER_IMAGE)
    print(f"paper budget for {args.train} training examples: {readable_flops(budget)} FLOPs per model; torch "
          f"{torch.__version__}, {torch.get_num_threads()} thread(s), {torch.backends.cpu.get_cpu_capability()}")
    print("| model | GFLOP/step | paper steps | CPU s/step | CPU hours | ops/step | GPU s/step (computed) "
          "| GPU hours |")
    print("|---|---|---|---|---|---|---|---|")
    total_cpu = total_gpu = 0.0
    for name in TRAINED:
        batch = genbench.make_model(name).config.batch_size
        fit_steps(name, data, 2, batch)  # untimed: first calls pay for lazy set-up
        seconds, flop_step = fit_steps(name, data, args.steps, batch)
        per_step = seconds / args.steps
        ops = OperationCounter()
        with ops:
            fit_steps(name, data, 2, batch)
        op_step = ops.count / 3  # two steps and the counted one the loop undoes
        steps = math.floor(budget / flop_step)
        gpu_step = flop_step / (args.gpu_tflops * 1e12) + op_step * args.launch_us * 1e-6
        cpu_hours, gpu_hours = steps * per_step / 3600, steps * gpu_step / 3600
        total_cpu, total_gpu = total_cpu + cpu_hours, total_gpu + gpu_hours
        print(f"| {name} | {flop_step / 1e9:.2f} | {steps:,} | {per_step:.3f} | {cpu_hours:.1f} | {op_step:,.0f} | "
              f"{gpu_step * 1e3:.1f} ms | {gpu_hours:.2f} |", flush=True)
    print(f"| all six | | | | {total_cpu:.1f} | | | {total_gpu:.2f} |")


if __name__ == "__main__":
    main()
