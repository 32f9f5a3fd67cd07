"""Datasets: what they hold (``DataInfo``), their splits, and the sources that load them."""

from genbench.data.from_path import PathDataset
from genbench.data.info import DataInfo, ValueType, infer_info
from genbench.data.resolve import dataset_source
from genbench.data.source import DataFolder, DatasetSource, NoOptions
from genbench.data.splits import Data, Split, TrueDistribution, as_examples, make_data, split_indices

__all__ = [
    "Data",
    "DataFolder",
    "DataInfo",
    "DatasetSource",
    "NoOptions",
    "PathDataset",
    "Split",
    "TrueDistribution",
    "ValueType",
    "as_examples",
    "dataset_source",
    "infer_info",
    "make_data",
    "split_indices",
]
