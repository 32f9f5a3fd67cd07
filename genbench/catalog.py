"""The registries of models, datasets, metrics, feature extractors and executors, filled here by explicit calls.

A new model, dataset, metric, extractor or executor is one new module plus one line below, which names its
class by import path and says whether a plain ``genbench run`` uses it (``default=True``). Nothing is
imported until a name is used, so ``import genbench.catalog`` and a mistyped name cost no torch
import. Models, metrics and feature extractors from outside genbench need no line here, by one route for all
three: an installed package names them in the entry-point groups ``genbench.models``, ``genbench.metrics`` and
``genbench.extractors`` (``ENTRY_POINTS``), or the user gives an import path (``mypackage.models:MyModel``,
``mypackage.metrics:Sharpness``, ``fidelity:extractor=mypackage.features:MyNet``). ``Registry.unregister`` takes
back what a ``register`` call added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genbench.registry import Registry

if TYPE_CHECKING:
    from genbench.data.source import DatasetSource
    from genbench.features.contract import FeatureExtractor
    from genbench.metric import Metric
    from genbench.model import GenerativeModel
    from genbench.service.executors.contract import Executor

MODEL_ENTRY_POINTS, METRIC_ENTRY_POINTS, EXTRACTOR_ENTRY_POINTS = "genbench.models", "genbench.metrics", \
    "genbench.extractors"
ENTRY_POINTS = (MODEL_ENTRY_POINTS, METRIC_ENTRY_POINTS, EXTRACTOR_ENTRY_POINTS)
MODELS: Registry[GenerativeModel] = Registry("model", "genbench.model:GenerativeModel",
                                             entry_point_group=MODEL_ENTRY_POINTS, import_paths=True)
MODELS.register("naive-bayes", "genbench.baselines.naive_bayes:NaiveBayes", default=True)
MODELS.register("pca", "genbench.baselines.pca:PCA", default=True)
MODELS.register("ae", "genbench.baselines.autoencoder:Autoencoder", default=True)
MODELS.register("vae", "genbench.baselines.vae:VAE", default=True)
MODELS.register("beta-vae", "genbench.baselines.beta_vae:BetaVAE", default=True)
MODELS.register("gan", "genbench.baselines.gan:GAN", default=True)
MODELS.register("flow", "genbench.baselines.flow:Flow", default=True)
MODELS.register("diffusion", "genbench.baselines.diffusion:Diffusion", default=True)

DATASETS: Registry[DatasetSource] = Registry("dataset", "genbench.data.source:DatasetSource")
DATASETS.register("digits", "genbench.data.digits:Digits")
DATASETS.register("rings", "genbench.data.rings:Rings")
DATASETS.register("shapes", "genbench.data.shapes:Shapes")
DATASETS.register("wardrobe", "genbench.data.wardrobe:Wardrobe")
DATASETS.register("mnist", "genbench.data.torchvision_sets:Mnist")
DATASETS.register("binarized-mnist", "genbench.data.torchvision_sets:BinarizedMnist")
DATASETS.register("fashion-mnist", "genbench.data.torchvision_sets:FashionMnist")
DATASETS.register("cifar10", "genbench.data.torchvision_sets:Cifar10")

METRICS: Registry[Metric] = Registry("metric", "genbench.metric:Metric", entry_point_group=METRIC_ENTRY_POINTS,
                                     import_paths=True)
METRICS.register("log-likelihood", "genbench.metrics.likelihood:LogLikelihood", default=True)
METRICS.register("fidelity", "genbench.metrics.fidelity:Fidelity", default=True)
METRICS.register("modes", "genbench.metrics.modes:RingModes", default=True)
METRICS.register("memorisation", "genbench.metrics.memorisation:Memorisation", default=True)
METRICS.register("sampling-speed", "genbench.metrics.throughput:SamplingThroughput", default=True)
METRICS.register("latent-smoothness", "genbench.metrics.smoothness:LatentSmoothness", default=True)
METRICS.register("disentanglement", "genbench.metrics.disentanglement:Disentanglement", default=True)
METRICS.register("learning-curve", "genbench.metrics.learning_curve:LearningCurve", default=True)
METRICS.register("training-compute", "genbench.metrics.training_compute:TrainingCompute", default=True)
METRICS.register("sampling-steps", "genbench.metrics.sampling_steps:SamplingSteps")
METRICS.register("cmmd", "genbench.metrics.feature_distances:Cmmd")
METRICS.register("fd-inf", "genbench.metrics.feature_distances:FdInfinity")
METRICS.register("fwd", "genbench.metrics.feature_distances:FrechetWaveletDistance")

EXTRACTORS: Registry[FeatureExtractor] = Registry("extractor", "genbench.features.contract:FeatureExtractor",
                                                  entry_point_group=EXTRACTOR_ENTRY_POINTS, import_paths=True)
EXTRACTORS.register("inception", "genbench.features.inception:InceptionExtractor")
EXTRACTORS.register("domain", "genbench.features.domain:DomainExtractor")
EXTRACTORS.register("raw", "genbench.features.raw:RawExtractor")
EXTRACTORS.register("dinov2-vit-s-14", "genbench.features.dinov2:DinoV2Small")
EXTRACTORS.register("dinov2-vit-b-14", "genbench.features.dinov2:DinoV2Base")
EXTRACTORS.register("dinov2-vit-l-14", "genbench.features.dinov2:DinoV2Large")
EXTRACTORS.register("clip-vit-b-32", "genbench.features.clip:ClipVitB32")
EXTRACTORS.register("clip-vit-l-14", "genbench.features.clip:ClipVitL14")
EXTRACTORS.register("clip-vit-l-14-336px", "genbench.features.clip:ClipVitL14At336")
EXTRACTORS.register("wavelet", "genbench.features.wavelet:WaveletExtractor")

EXECUTORS: Registry[Executor] = Registry("executor", "genbench.service.executors.contract:Executor")
EXECUTORS.register("local", "genbench.service.executors.local:LocalPool")
EXECUTORS.register("ray", "genbench.service.executors.ray_cluster:RayCluster")
