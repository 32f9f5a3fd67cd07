"""What ``genbench run`` does when asked nothing: one place, importable without torch."""

DEFAULT_MODELS = ("naive-bayes", "pca", "ae", "vae", "beta-vae", "gan")
DEFAULT_DATASET = "digits"
DEFAULT_METRICS = ("log-likelihood", "fidelity", "modes", "sampling-speed", "latent-smoothness", "disentanglement")
DEFAULT_SEEDS = (0,)
