"""``genbench run``: train and measure models, write a run directory (``genbench.service.run``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genbench import service
from genbench.catalog import METRICS, MODELS
from genbench.cli.options import (
    add_common,
    add_data_options,
    add_reference_option,
    add_sweep_options,
    budget_text,
    positive_int,
)
from genbench.cli.output import report_finished
from genbench.defaults import DEFAULT_DATASET, DEFAULT_SEEDS

EXAMPLES = """\
examples:
  genbench run                                   every default model on digits, every metric (no download)
  genbench run --models vae,gan --seeds 0,1,2    two models, three seeds
  genbench run --dataset rings                   2-D ring of Gaussians with its true density
  genbench run --dataset mnist --data-dir ~/data MNIST from ~/data/MNIST/raw (--download fetches it)
  genbench run --models vae,gan --budget 4e13    4·10¹³ training FLOPs for each model
  genbench run --models vae,gan --budget 10min   as many FLOPs as this machine computes in 10 minutes
  genbench run --dataset ~/faces --resize 32     your own images (class subfolders become labels)
  genbench run --dataset x.npz:value_type=binary your own arrays, value type overridden
  genbench run --models vae:latent_dim=8,vae:latent_dim=32
                                                 one model twice, with different options
  genbench run --models gan,vae:checkpoint=cluster/vae.pt
                                                 train a GAN, measure a VAE trained elsewhere
  genbench run --checkpoints runs/digits-…/checkpoints --metrics fidelity:extractor=inception
                                                 measure a finished run's models again, in other features
  genbench run --models mypkg.models:MyFlow:hidden=128,vae
                                                 your own model class beside genbench's
  genbench run --resume --out runs/digits-…      finish an interrupted run
  genbench run --metrics fidelity:extractor=inception:n=10000 --inception-weights weights-inception.pth
                                                 FID, IS, KID, precision/recall in Inception features
  genbench run --metrics fidelity:extractor=inception+dinov2-vit-b-14,cmmd,fd-inf \\
      --weights dinov2-vit-b-14=dinov2_vitb14_pretrain.pth,clip-vit-l-14-336px=ViT-L-14-336px.pt
                                                 every figure in Inception and DINOv2 features (the table marks
                                                 the first), CMMD in CLIP's, FD∞; weights as published, hash-checked
  genbench run --metrics fidelity:extractor=domain+wavelet,memorisation:extractor=domain+wavelet
                                                 every figure and copy test in the wavelet space too, where FID is
                                                 the Fréchet wavelet distance; no weights to fetch

model, dataset and metric options follow the name: NAME:key=value:key=value.
every model also takes label=NAME (its column's name) and checkpoint=PATH (measure it, don't train it;
{seed} in PATH picks one per seed).
`genbench list` shows every model, dataset and metric with its options.
exit status: 0 all cells measured, 1 a cell failed, 2 a usage error.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="train and measure models, write a run directory",
                              description="Train every model on one dataset for every seed, measure "
                              "them, and write a run directory (config, environment, metrics.csv, tables).",
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--models", default=None, metavar="SPECS",
                     help=f"comma-separated models with options (default: {','.join(MODELS.defaults())})")
    run.add_argument("--dataset", default=None, metavar="SPEC",
                     help="dataset with options, or the path of your own data: a folder of PNG/JPEG images "
                     f"or a .npy, .npz or .pt file (default: {DEFAULT_DATASET})")
    run.add_argument("--metrics", default=None, metavar="SPECS",
                     help=f"comma-separated metrics with options (default: {','.join(METRICS.defaults())})")
    run.add_argument("--seeds", default=None, metavar="LIST",
                     help=f"comma-separated seeds (default: {','.join(map(str, DEFAULT_SEEDS))})")
    run.add_argument("--budget", default=None, type=budget_text, metavar="BUDGET",
                     help="training compute per model, the same for every trained model: smoke (seconds), default "
                     "(minutes on 2 CPU cores: about 3 on digits, 30 for all eight models on MNIST), paper (a hundred "
                     "times the default; see the benchmarks page), whose FLOPs grow with the training set's values V "
                     "as (V/1e5)^(2/5); or FLOPs (2e13); or a time on this machine (10min, 90s, 1.5h), converted to "
                     "FLOPs at the start (default: default)")
    run.add_argument("--epochs", default=None, type=positive_int, metavar="N",
                     help="train every model for N epochs (overrides --budget)")
    run.add_argument("--out", default=None, type=Path, metavar="DIR",
                     help="run directory (default: runs/<dataset>-<time>); never overwritten")
    run.add_argument("--resize", default=None, metavar="SIZE",
                     help="resize the images of a folder dataset to SIZE (32) or HEIGHTxWIDTH (28x28)")
    add_data_options(run)
    add_reference_option(run)
    run.add_argument("--checkpoints", default=None, type=Path, metavar="DIR",
                     help="measure every model saved in DIR (a run's checkpoints/ folder, or files written by "
                     "model.save) without training it; <label>-seed<k> files give seeds (default --seeds: those found)")
    run.add_argument("--resume", action="store_true",
                     help="finish the run in --out, skipping the cells already in its metrics.csv (a cell whose "
                     "worker died runs again)")
    add_sweep_options(run)
    add_common(run)
    run.set_defaults(handler=command_run)


def command_run(args: argparse.Namespace) -> int:
    request = service.RunRequest.from_args(args)
    return report_finished("run", args.quiet, lambda: service.run(request))
