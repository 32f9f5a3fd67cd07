"""The feature spaces sample-based metrics compare in: the extractor contract and one module per extractor family.

- ``contract``: ``FeatureExtractor`` (what an extractor is) and ``PreparedExtractor`` (one ready to run).
- ``inception`` (with ``inception_port``), ``domain`` (with ``domain_net`` and the ``shipped`` classifiers),
  ``raw``, ``dinov2`` (Meta's forward in ``dinov2_net``), ``clip``, ``wavelet`` (the Fréchet wavelet distance's
  packets, computed in ``wavelet_packets``): the extractors, each registered by name in
  ``genbench.catalog.EXTRACTORS``.
- ``weights``: where pretrained weights come from (a file given, the cache, a download), hash-checked.
- ``inputs``: how examples become an extractor's input.
- ``adapters``: genbench's extractors as torch-fidelity feature extractors, so that torch-fidelity runs them.

The metrics (``genbench.metrics``) keep the kernels and the adapters that feed them features; this package
imports no metric.
"""

from genbench.features.contract import FeatureExtractor, PreparedExtractor

__all__ = ["FeatureExtractor", "PreparedExtractor"]
