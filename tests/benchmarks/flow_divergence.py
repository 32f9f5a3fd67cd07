"""Where the flow's training goes wrong on real 28×28 digits: every optimiser step, the loss, the gradient's norm
and, per coupling layer, the largest log-scale |s|, shift |t| and output value, until training ends or fails.

    python tests/benchmarks/flow_divergence.py [--data ../shared/data/mnist-t10k.npz] [--steps 400]
        [--option key=value ...] [--out flow-steps.csv]

Options are the flow's (``--option lr=1e-3 --option width=32``); the run is the default budget's training on
the file's training split, seed 0, with no recovery (``max_recoveries=0``) so that the first bad step stops it.
Skips, saying why, without the data file (it is not part of the repository: ../shared/data/README.md).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import pandas as pd
import torch

DEFAULT_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist-t10k.npz"


def parse_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--steps", type=int, default=400, help="stop after this many steps (default 400)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=Path("flow-steps.csv"))
    args = parser.parse_args()
    if not args.data.exists():
        print(f"skipped: {args.data} is absent (see ../shared/data/README.md)")
        return 0

    import genbench
    from genbench.baselines import training
    from genbench.baselines.flow import SCALE_BOUND, AffineCoupling, Flow
    from genbench.errors import TrainingFailed

    data = genbench.load_dataset(str(args.data))
    options = {"max_recoveries": 0, **{k: parse_value(v) for k, v in (o.split("=", 1) for o in args.option)}}
    model = Flow(**options)
    rows: list[dict] = []
    current: dict = {}

    def record_net(name, coupling):
        def hook(module, inputs, output):
            raw_s, t = output.detach().chunk(2, dim=1)
            free = 1 - coupling.mask
            current[f"{name}.s"] = (SCALE_BOUND * torch.tanh(raw_s / SCALE_BOUND) * free).abs().max().item()
            current[f"{name}.t"] = (t * free).abs().max().item()
        return hook

    def record_out(name):
        def hook(module, inputs, output):
            current[f"{name}.out"] = output[0].detach().abs().max().item()
        return hook

    def add_hooks(flow):
        for name, coupling in flow.named_modules():
            if isinstance(coupling, AffineCoupling):
                coupling.net.register_forward_hook(record_net(name, coupling))
                coupling.register_forward_hook(record_out(name))

    original_step = training.backward_step
    started = time.perf_counter()

    def logged_step(loss, optimizer, what, epoch, inputs=None, recent=None):
        if model.training:
            norm = math.nan
            try:
                original_step(loss, optimizer, what, epoch, inputs, recent)
                norm = training.gradient_norm(optimizer)
            finally:
                rows.append({"step": len(rows), "epoch": epoch, "loss": loss.item(), "grad_norm": norm,
                             "seconds": time.perf_counter() - started, **current})
                if len(rows) % 10 == 0:
                    print(f"step {len(rows)}: loss {loss.item():.4g}, |grad| {norm:.3g}", flush=True)
                if len(rows) >= args.steps:
                    raise KeyboardInterrupt
        else:
            original_step(loss, optimizer, what, epoch, inputs, recent)

    training.backward_step = logged_step
    original_build = Flow._build

    def build_with_hooks(self, info):
        original_build(self, info)
        add_hooks(self.flow)

    Flow._build = build_with_hooks
    outcome = "finished"
    try:
        model.fit(data.train, data.val, generator=torch.Generator().manual_seed(0))
    except TrainingFailed as error:
        outcome = f"failed: {error}"
    except KeyboardInterrupt:
        outcome = f"stopped after {args.steps} steps"
    frame = pd.DataFrame(rows)
    frame.to_csv(args.out, index=False)
    print(f"{outcome}; {len(frame)} steps written to {args.out}")
    if len(frame):
        last = frame.iloc[-1]
        layers = sorted({c.rsplit(".", 1)[0] for c in frame.columns if c.endswith(".out")})
        worst = max(layers, key=lambda name: last[f"{name}.out"])
        print(f"last step {int(last.step)}: loss {last.loss:.4g}, |grad| {last.grad_norm:.3g}; largest output in "
              f"{worst}: {last[f'{worst}.out']:.3g} (|s| {last[f'{worst}.s']:.3g}, |t| {last[f'{worst}.t']:.3g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
