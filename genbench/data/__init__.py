"""Datasets: what they hold (``DataInfo``), their splits, and the sources that load them."""

from genbench.data.info import DataInfo, ValueType, infer_info
from genbench.data.source import DatasetSource, NoOptions
from genbench.data.splits import Data, Split, TrueDistribution, as_examples, make_data, split_indices

__all__ = [
    "Data",
    "DataInfo",
    "DatasetSource",
    "NoOptions",
    "Split",
    "TrueDistribution",
    "ValueType",
    "as_examples",
    "infer_info",
    "make_data",
    "split_indices",
]
