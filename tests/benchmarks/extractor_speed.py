"""Images per second of every pretrained feature extractor on this CPU, beside what a large float32 matmul reaches
in the same process, and what 50 000 images cost on the CPU and, computed from FLOPs, on a GPU.

    python tests/benchmarks/extractor_speed.py [--threads 1,2] [--batch 100] [--large-batch 10]
        [--matmul 2048] [--gpu-tflops 19.5]

Each network is genbench's own path with random weights of the published shapes (the cost does not depend on
the values): the DINOv2 extractors as genbench runs them (``FidelityDinoV2``: dgm-eval's PIL resize to 224,
ImageNet normalisation, Meta's forward), the CLIP extractors through torch-fidelity's ``FeatureExtractorCLIP``
on an archive of the published layout, the Inception extractor (torch-fidelity's) for scale, and the weight-free
``wavelet`` space (FWD's Haar packets, additions only, so no FLOPs to count and no share of the matmul to state).
Input: 28×28 grey images as uint8 RGB, as MNIST samples reach the extractor. FLOPs per image are counted by
``torch.utils.flop_counter`` (matmuls and convolutions: 2 per multiply-add); a network's efficiency is its FLOP rate
over the matmul's, the issue's bar being one half. ViT-L-sized networks run ``--large-batch`` images (a batch of
100 takes minutes on two cores); the rate is per image either way. The GPU figure is FLOPs at ``--gpu-tflops``
sustained (FP32 without tensor cores: 19.5 on an A100), computed: no GPU was lent.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

N_IMAGES = 50_000


def matmul_rate(size: int, repeats: int = 5) -> float:
    """FLOP/s of a size×size float32 matmul (2·size³ FLOPs), median of ``repeats`` after a warm-up."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)


def dinov2(size: str, folder: Path) -> nn.Module:
    from genbench.features.adapters import FidelityDinoV2
    from genbench.features.dinov2_net import random_dinov2_state

    path = folder / f"dinov2-{size}.pth"
    torch.save(random_dinov2_state(f"vit-{size}-14", torch.Generator().manual_seed(0)), path)
    return FidelityDinoV2(f"genbench-dinov2-vit-{size}-14", ["dinov2"], feature_extractor_weights_path=str(path))


def clip(name: str, folder: Path) -> nn.Module:
    """torch-fidelity's CLIP extractor on a TorchScript archive of OpenAI's layout for ``name``."""
    from torch_fidelity.feature_extractor_clip import CLIPVisual, FeatureExtractorCLIP

    width, layers, patch, resolution, embed = {"clip-vit-b-32": (768, 12, 32, 224, 512),
                                               "clip-vit-l-14": (1024, 24, 14, 224, 768),
                                               "clip-vit-l-14-336px": (1024, 24, 14, 336, 768)}[name]

    class Archive(nn.Module):
        def __init__(self):
            super().__init__()
            self.visual = CLIPVisual(embed, resolution, layers, width, patch).visual
            self.text_projection = nn.Parameter(torch.randn(embed, embed))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    path = folder / f"{name}.pt"
    torch.jit.script(Archive()).save(str(path))
    return FeatureExtractorCLIP(name, ["clip"], feature_extractor_weights_path=str(path))


def inception(folder: Path) -> nn.Module | None:
    from genbench.features.inception_port import packaged_torchscript, port, read_torchscript

    packaged = packaged_torchscript()
    if packaged is None:
        return None
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    path = folder / "inception.pth"
    torch.save(port(read_torchscript(packaged)), path)
    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))


def wavelet() -> nn.Module:
    """FWD's Haar packets as genbench's ``wavelet`` space computes them (level 4 on 28×28: 3 072 values)."""
    from genbench.features.adapters import FidelityWavelet

    return FidelityWavelet("genbench-wavelet-level-4", ["packets"])


def images_per_second(net: nn.Module, batch: torch.Tensor, repeats: int) -> float:
    with torch.no_grad():
        net(batch[:2])
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            net(batch)
            times.append(time.perf_counter() - start)
    return len(batch) / statistics.median(times)


def flops_per_image(net: nn.Module, image: torch.Tensor) -> float:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(image)
    return counter.get_total_flops() / len(image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--large-batch", type=int, default=10)
    parser.add_argument("--matmul", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gpu-tflops", type=float, default=19.5)
    parser.add_argument("--only", default=None, help="comma-separated extractor names")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    builders = {"dinov2-vit-s-14": lambda: dinov2("s", folder), "dinov2-vit-b-14": lambda: dinov2("b", folder),
                "dinov2-vit-l-14": lambda: dinov2("l", folder), "clip-vit-b-32": lambda: clip("clip-vit-b-32", folder),
                "clip-vit-l-14": lambda: clip("clip-vit-l-14", folder),
                "clip-vit-l-14-336px": lambda: clip("clip-vit-l-14-336px", folder),
                "inception": lambda: inception(folder), "wavelet": wavelet}
    large = {"dinov2-vit-l-14", "clip-vit-l-14", "clip-vit-l-14-336px"}
    names = args.only.split(",") if args.only else list(builders)
    pixels = (torch.rand(max(args.batch, args.large_batch), 1, 28, 28) * 255).to(torch.uint8).expand(-1, 3, -1, -1)
    print(f"{'extractor':<20} {'threads':>7} {'GFLOP/img':>9} {'img/s':>8} {'GFLOP/s':>8} {'matmul':>8} {'share':>6} "
          f"{'50k CPU h':>9} {'50k GPU s':>9}")
    for name in names:
        net = builders[name]()
        if net is None:
            print(f"{name:<20} (no weights here)")
            continue
        net.eval()
        batch = pixels[: args.large_batch if name in large else args.batch].contiguous()
        flops = flops_per_image(net, batch[:1])
        for threads in (int(t) for t in args.threads.split(",")):
            torch.set_num_threads(threads)
            rate = images_per_second(net, batch, args.repeats)
            peak = matmul_rate(args.matmul)
            if flops:
                compute = (f"{rate * flops / 1e9:>8.1f} {peak / 1e9:>8.1f} {rate * flops / peak:>6.2f} "
                           f"{N_IMAGES / rate / 3600:>9.2f} {N_IMAGES * flops / (args.gpu_tflops * 1e12):>9.0f}")
            else:  # no matmuls or convolutions (the wavelet packets' additions): memory-bound, no share to state
                compute = f"{'–':>8} {peak / 1e9:>8.1f} {'–':>6} {N_IMAGES / rate / 3600:>9.4f} {'–':>9}"
            print(f"{name:<20} {threads:>7} {flops / 1e9:>9.2f} {rate:>8.1f} {compute}", flush=True)
        del net


if __name__ == "__main__":
    main()
