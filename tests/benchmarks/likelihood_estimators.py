"""Every likelihood estimator of the diffusion model beside the VAE, the flow and naive Bayes, on one dataset.

    OMP_NUM_THREADS=2 python tests/benchmarks/likelihood_estimators.py --dataset digits [--n 359] [--out table.md]

Trains each model at the default budget (seed 0), then measures the test log-likelihood with the metric of a
default run, one line per (model, estimator): nats, bits/dim, examples/s and network evaluations per example. The
diffusion model is measured by its variational bound over all T terms, by 50 random terms drawn uniformly and by
importance, and by the probability-flow ODE. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

import genbench
from genbench.metrics.likelihood import LogLikelihood
from genbench.service.evaluation import eval_context

RUNS = (
    ("naive-bayes", {}, {}),
    ("vae", {}, {}),
    ("flow", {}, {}),
    ("diffusion", {}, {"estimator": "vlb"}),
    ("diffusion", {}, {"estimator": "vlb", "terms": 50}),
    ("diffusion", {}, {"estimator": "vlb", "terms": 50, "sampling": "importance"}),
    ("diffusion", {}, {"estimator": "ode", "n": 64}),
    ("diffusion", {}, {"estimator": "ode", "divergence": "hutchinson"}),
    ("diffusion", {"variance": "learned"}, {"estimator": "vlb"}),
    ("diffusion", {"variance": "learned"}, {"estimator": "vlb", "terms": 50, "sampling": "importance"}),
    ("diffusion", {"variance": "learned"}, {"estimator": "ode", "divergence": "hutchinson"}),
)
"""(model, its options, the metric's options). The ODE with the exact divergence runs on 64 examples on digits (about
0.4 examples/s on one thread); on rings (D = 2) the default is the exact divergence anyway."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--n", type=int, default=None, help="test examples for every row (default: the protocol's)")
    parser.add_argument("--models", default=None, help="comma-separated subset of the models")
    parser.add_argument("--rows", default=None, help="comma-separated row numbers of RUNS (from 0)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    data = genbench.load_dataset(args.dataset)
    wanted = set(args.models.split(",")) if args.models else None
    rows = {int(r) for r in args.rows.split(",")} if args.rows else None
    models: dict[str, genbench.GenerativeModel] = {}
    lines = ["| model | estimator | nats | bits/dim | examples/s | NFE per example | train s |",
             "|---|---|---|---|---|---|---|"]
    for row, (name, model_options, options) in enumerate(RUNS):
        if (wanted and name not in wanted) or (rows is not None and row not in rows):
            continue
        key = f"{name}({', '.join(f'{k}={v}' for k, v in model_options.items())})" if model_options else name
        model_class = type(genbench.make_model(name, **model_options))
        if model_class.unsupported_reason(data.info):
            continue
        start = time.perf_counter()
        if key not in models:
            models[key] = genbench.make_model(name, **model_options).fit(data.train, data.val,
                                                                         generator=torch.Generator().manual_seed(0))
        trained = time.perf_counter() - start
        options = {"n": args.n, **options} if args.n is not None else options
        records = {r.metric: r for r in LogLikelihood(**options).compute(models[key], data, eval_context(seed=0))}
        ll, bits, speed = records["log_likelihood"], records["bits_per_dim"], records["likelihood_examples_per_second"]
        nfe = ll.details.get("nfe", math.nan)
        line = (f"| {key} | {ll.estimator} (n={ll.n}) | {ll.value:.2f} ± {ll.stderr:.2f} "
                f"| {bits.value:.3f} ± {bits.stderr:.3f} | {speed.value:.3g} | {nfe:.4g} | {trained:.0f} |")
        print(line, flush=True)
        lines.append(line)
    text = f"{args.dataset}, torch threads {torch.get_num_threads()}\n\n" + "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
