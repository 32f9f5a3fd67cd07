"""The registries of models, datasets, metrics and feature extractors, filled here by explicit calls.

A new model, dataset, metric or extractor is one new module plus one line below. Models from
outside genbench need no line here: an installed package names them in the entry-point group
``genbench.models`` (``MODEL_ENTRY_POINTS``), or the user gives an import path
(``mypackage.models:MyModel``).
"""

from __future__ import annotations

from genbench.baselines.autoencoder import Autoencoder
from genbench.baselines.beta_vae import BetaVAE
from genbench.baselines.gan import GAN
from genbench.baselines.naive_bayes import NaiveBayes
from genbench.baselines.pca import PCA
from genbench.baselines.vae import VAE
from genbench.data.digits import Digits
from genbench.data.rings import Rings
from genbench.data.shapes import Shapes
from genbench.data.source import DatasetSource
from genbench.data.torchvision_sets import BinarizedMnist, Cifar10, FashionMnist, Mnist
from genbench.data.wardrobe import Wardrobe
from genbench.features import FeatureExtractor
from genbench.metric import Metric
from genbench.metrics.disentanglement import Disentanglement
from genbench.metrics.extractors import DomainExtractor, InceptionExtractor, RawExtractor
from genbench.metrics.fidelity import Fidelity
from genbench.metrics.likelihood import LogLikelihood
from genbench.metrics.modes import RingModes
from genbench.metrics.smoothness import LatentSmoothness
from genbench.metrics.throughput import SamplingThroughput
from genbench.model import GenerativeModel
from genbench.registry import Registry

MODEL_ENTRY_POINTS = "genbench.models"
MODELS: Registry[GenerativeModel] = Registry("model", GenerativeModel, entry_point_group=MODEL_ENTRY_POINTS,
                                             import_paths=True)
MODELS.register("naive-bayes", NaiveBayes)
MODELS.register("pca", PCA)
MODELS.register("ae", Autoencoder)
MODELS.register("vae", VAE)
MODELS.register("beta-vae", BetaVAE)
MODELS.register("gan", GAN)

DATASETS: Registry[DatasetSource] = Registry("dataset", DatasetSource)
DATASETS.register("digits", Digits)
DATASETS.register("rings", Rings)
DATASETS.register("shapes", Shapes)
DATASETS.register("wardrobe", Wardrobe)
DATASETS.register("mnist", Mnist)
DATASETS.register("binarized-mnist", BinarizedMnist)
DATASETS.register("fashion-mnist", FashionMnist)
DATASETS.register("cifar10", Cifar10)

METRICS: Registry[Metric] = Registry("metric", Metric)
METRICS.register("log-likelihood", LogLikelihood)
METRICS.register("fidelity", Fidelity)
METRICS.register("modes", RingModes)
METRICS.register("sampling-speed", SamplingThroughput)
METRICS.register("latent-smoothness", LatentSmoothness)
METRICS.register("disentanglement", Disentanglement)

EXTRACTORS: Registry[FeatureExtractor] = Registry("extractor", FeatureExtractor)
EXTRACTORS.register("inception", InceptionExtractor)
EXTRACTORS.register("domain", DomainExtractor)
EXTRACTORS.register("raw", RawExtractor)

