"""The denoising diffusion model in its parts, each tested alone: ``process`` (the noise process and its formulas,
against closed forms), ``networks`` (ε_θ: the U-Net and the MLP) and ``model`` (``Diffusion``: training, the
likelihood bound and the ODE, sampling, the latent space)."""

from genbench.baselines.diffusion.model import Diffusion, DiffusionConfig

__all__ = ["Diffusion", "DiffusionConfig"]
