"""mnist, fashion-mnist, binarized-mnist and cifar10: tiny files in the real formats, read by torchvision.

The tests write IDX files (MNIST's format) and CIFAR-10's pickled batches themselves, with a
handful of random images, and check what genbench loads against what they wrote.
"""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pandas as pd
import pytest
import torch

import genbench
from genbench.data import ValueType
from genbench.data.torchvision_sets import FIXED_DRAW_SEEDS
from genbench.errors import DataFormatError, DataMissingError, UsageError

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
N_TRAIN, N_TEST = 12, 5


def write_idx(path: Path, array: np.ndarray) -> None:
    """The IDX format: magic 0x0000 08 ndim (08: unsigned bytes), big-endian uint32 sizes, the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", size) for size in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, folder: str = "MNIST", seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """root/<folder>/raw/ with N_TRAIN training and N_TEST test images; returns (images, labels) per split."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, prefix, n in (("train", "train", N_TRAIN), ("test", "t10k", N_TEST)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        written[split] = (images, labels.astype(np.int64))
    return written


def write_cifar(root: Path, per_batch: int = 3, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """root/cifar-10-batches-py/ as the python archive unpacks: rows of 3072 bytes (R, G, B planes)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {f"data_batch_{i}": per_batch for i in range(1, 6)} | {"test_batch": N_TEST}
    rows, labels = {}, {}
    for name, n in batches.items():
        rows[name] = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels[name] = rng.integers(0, 10, n).tolist()
        with open(folder / name, "wb") as file:
            pickle.dump({"batch_label": name, "data": rows[name], "labels": labels[name]}, file)
    with open(folder / "batches.meta", "wb") as file:
        pickle.dump({"label_names": CIFAR_CLASSES, "num_cases_per_batch": per_batch}, file)
    train = [f"data_batch_{i}" for i in range(1, 6)]
    return {
        "train": (np.concatenate([rows[b] for b in train]).reshape(-1, 3, 32, 32),
                  np.concatenate([labels[b] for b in train])),
        "test": (rows["test_batch"].reshape(-1, 3, 32, 32), np.array(labels["test_batch"])),
    }


def as_bytes(x: torch.Tensor) -> np.ndarray:
    """Loaded pixels k/255 back to the bytes k; checks that they lie on the grid (within 1e-4 of k)."""
    k = x.double().numpy() * 255
    assert np.abs(k - np.round(k)).max() < 1e-4
    return np.round(k).astype(np.uint8)


def sorted_rows(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1)
    return flat[np.lexsort(flat.T[::-1])]


@pytest.fixture
def mnist_dir(tmp_path):
    root = tmp_path / "data"
    return root, write_mnist(root)


@pytest.mark.parametrize("name, folder, shape, classes", [
    ("mnist", "MNIST", (1, 28, 28), "0 - zero"),
    ("fashion-mnist", "FashionMNIST", (1, 28, 28), "T-shirt/top"),
    ("cifar10", None, (3, 32, 32), "airplane"),
])
def test_loads_the_files_it_was_given(name, folder, shape, classes, tmp_path):
    root = tmp_path / "data"
    written = write_cifar(root) if folder is None else write_mnist(root, folder)
    (x_train, y_train), (x_test, y_test) = written["train"], written["test"]
    data = genbench.load_dataset(name, data_dir=root, n_val=4)
    info = data.info
    assert info.value_type is ValueType.DISCRETE and info.levels == 256 and info.shape == shape
    assert info.n_classes == 10 and info.extra["class_names"][0] == classes
    assert info.latent_dim_hint == (64 if name == "cifar10" else 16)
    # the official test set, in its order, pixel for pixel
    assert data.test.x.dtype == torch.float32
    assert np.array_equal(as_bytes(data.test.x), x_test.reshape(-1, *shape))
    assert data.test.labels.tolist() == y_test.tolist()
    # train and val: the official training set, n_val of it held out
    assert (len(data.train), len(data.val)) == (len(x_train) - 4, 4)
    loaded = np.concatenate([as_bytes(data.train.x), as_bytes(data.val.x)])
    assert np.array_equal(sorted_rows(loaded), sorted_rows(x_train.reshape(-1, *shape)))
    rows = {x.tobytes(): y for x, y in zip(x_train.reshape(len(x_train), -1), y_train)}
    for split in (data.train, data.val):
        assert [rows[x.tobytes()] for x in as_bytes(split.x).reshape(len(split), -1)] == split.labels.tolist()
    assert data.provenance["n_val"] == 4 and data.provenance["split_seed"] == 0
    assert data.provenance["source"].startswith("torchvision.datasets.")


def test_the_validation_split_is_fixed_by_its_seed(mnist_dir):
    root, _ = mnist_dir
    a, b = (genbench.load_dataset("mnist", data_dir=root, n_val=4) for _ in range(2))
    other = genbench.load_dataset("mnist", data_dir=root, n_val=4, split_seed=1)
    assert torch.equal(a.val.x, b.val.x) and a.fingerprint == b.fingerprint
    assert not torch.equal(a.val.x, other.val.x)
    assert torch.equal(a.test.x, other.test.x)


def test_binarized_mnist_redraws_training_examples_with_pixel_intensities_as_probabilities(mnist_dir):
    root, written = mnist_dir
    data = genbench.load_dataset("binarized-mnist", data_dir=root, n_val=3)
    grey = genbench.load_dataset("mnist", data_dir=root, n_val=3)
    assert data.info.value_type is ValueType.BINARY and data.info.shape == (1, 28, 28)
    for split in (data.train, data.val, data.test):
        assert set(split.x.unique().tolist()) <= {0.0, 1.0}
    assert data.val.redraw is None and data.test.redraw is None
    p = grey.train.x
    draw = data.train.redraw
    assert torch.equal(draw(torch.Generator().manual_seed(5)), draw(torch.Generator().manual_seed(5)))
    assert not torch.equal(draw(torch.Generator().manual_seed(5)), draw(torch.Generator().manual_seed(6)))
    # E[x] = p: per pixel, the mean of K draws is within 5.5 standard errors sqrt(p(1-p)/K) of p
    k = 400
    generator = torch.Generator().manual_seed(0)
    mean = torch.stack([draw(generator) for _ in range(k)]).double().mean(0)
    p64 = p.double()
    inner = (p64 > 0) & (p64 < 1)
    z = (mean - p64)[inner] / (p64 * (1 - p64) / k).sqrt()[inner]
    assert z.abs().max() < 5.5, z.abs().max()
    assert torch.equal(mean[~inner], p64[~inner])  # p = 0 or 1: always that value
    assert abs((mean - p64).mean().item()) < 5 * 0.5 / np.sqrt(k * p.numel())


def test_binarized_mnist_evaluates_on_one_fixed_test_binarization(mnist_dir):
    root, written = mnist_dir
    a = genbench.load_dataset("binarized-mnist", data_dir=root, n_val=3)
    b = genbench.load_dataset("binarized-mnist", data_dir=root, n_val=5, split_seed=3)
    assert torch.equal(a.test.x, b.test.x)
    expected = torch.bernoulli(torch.from_numpy(written["test"][0]).float()[:, None] / 255,
                               generator=torch.Generator().manual_seed(FIXED_DRAW_SEEDS["test"]))
    assert torch.equal(a.test.x, expected)
    again = genbench.load_dataset("binarized-mnist", data_dir=root, n_val=3)
    assert torch.equal(a.train.x, again.train.x) and torch.equal(a.val.x, again.val.x)


def test_training_draws_a_fresh_binarization_every_epoch(mnist_dir, fast):
    root, _ = mnist_dir
    data = genbench.load_dataset("binarized-mnist", data_dir=root, n_val=3)
    draws = []
    original = data.train.redraw

    def counting(generator):
        draws.append(original(generator))
        return draws[-1]

    data.train.redraw = counting
    genbench.make_model("vae", **fast("vae")).fit(data.train, data.val, generator=torch.Generator().manual_seed(0))
    assert len(draws) == 2 and not torch.equal(draws[0], draws[1])  # fast options: 2 epochs


@pytest.mark.parametrize("name, folder, missing", [
    ("mnist", "MNIST/raw", MNIST_FILES),
    ("binarized-mnist", "MNIST/raw", MNIST_FILES),
    ("fashion-mnist", "FashionMNIST/raw", MNIST_FILES),
    ("cifar10", "cifar-10-batches-py", ("data_batch_1", "data_batch_5", "test_batch", "batches.meta")),
])
def test_missing_files_are_one_sentence_naming_files_folder_and_flags(name, folder, missing, tmp_path):
    with pytest.raises(DataMissingError) as caught:
        genbench.load_dataset(name, data_dir=tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{tmp_path / folder} (given by --data-dir)" in message
    assert all(file in message for file in missing)
    assert "--data-dir DIR" in message and "--download" in message


def test_the_data_folder_comes_from_the_environment_or_the_default(tmp_path, monkeypatch):
    written = write_mnist(tmp_path / "env")
    monkeypatch.setenv("GENBENCH_DATA_DIR", str(tmp_path / "env"))
    data = genbench.load_dataset("mnist", n_val=2)
    assert np.array_equal(as_bytes(data.test.x)[:, 0], written["test"][0])
    monkeypatch.delenv("GENBENCH_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(DataMissingError, match="the default data folder"):
        genbench.load_dataset("mnist")
    write_mnist(tmp_path / "home" / ".cache" / "genbench" / "data")
    assert len(genbench.load_dataset("mnist", n_val=2).test) == N_TEST


def test_packed_files_get_a_hint_to_unpack_them(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        (raw / f"{name}.gz").write_bytes(b"")
    with pytest.raises(DataMissingError, match="unpack the .gz files there"):
        genbench.load_dataset("mnist", data_dir=tmp_path)


def test_corrupt_files_are_named_not_a_traceback(mnist_dir, tmp_path):
    root, _ = mnist_dir
    image_file = root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    image_file.write_bytes(image_file.read_bytes()[:1000])  # truncated
    with pytest.raises(DataFormatError, match=r"cannot read the mnist files in .*MNIST/raw .*--download"):
        genbench.load_dataset("mnist", data_dir=root)
    write_cifar(tmp_path / "c")
    (tmp_path / "c" / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataFormatError, match="cannot read the cifar10 files"):
        genbench.load_dataset("cifar10", data_dir=tmp_path / "c")


def test_n_val_must_leave_training_images(mnist_dir):
    root, _ = mnist_dir
    with pytest.raises(UsageError, match=f"n_val=12 leaves no training images: mnist has {N_TRAIN}"):
        genbench.load_dataset("mnist", data_dir=root, n_val=12)


def test_download_goes_through_torchvision(tmp_path, monkeypatch):
    """torchvision's own download path, with its network call replaced by one that writes the files."""
    import torchvision.datasets.mnist

    source = tmp_path / "elsewhere"
    written = write_mnist(source)
    fetched = []

    def fake_download_and_extract_archive(url, download_root, filename=None, md5=None, **kwargs):
        fetched.append(url)
        unpacked = Path(filename).stem
        (Path(download_root) / unpacked).write_bytes((source / "MNIST" / "raw" / unpacked).read_bytes())

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", fake_download_and_extract_archive)
    data = genbench.load_dataset("mnist", data_dir=tmp_path / "new", download=True, n_val=2)
    assert len(fetched) == 4 and all(url.endswith(".gz") for url in fetched)
    assert np.array_equal(as_bytes(data.test.x)[:, 0], written["test"][0])


def test_a_failed_download_is_one_line(tmp_path, monkeypatch):
    import torchvision.datasets.cifar

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", offline)
    with pytest.raises(DataMissingError, match=r"downloading cifar10 into .* failed \(<urlopen error no network>\)"):
        genbench.load_dataset("cifar10", data_dir=tmp_path, download=True)


def test_cli_missing_files_exit_2_with_one_line_and_no_run_directory(tmp_path, cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "run"
    result = cli("run", "--dataset", "mnist", "--out", out, "--models", "naive-bayes", "--data-dir", empty)
    assert result.code == 2, result.err
    assert result.err.strip().count("\n") == 0 and "Traceback" not in result.err
    assert result.err.startswith("genbench run: error: mnist needs train-images-idx3-ubyte")
    assert f"in {empty / 'MNIST' / 'raw'} (given by --data-dir)" in result.err and "--download" in result.err
    assert not out.exists()  # it failed before the run started


@pytest.mark.parametrize("dataset, models", [("mnist:n_val=2", "naive-bayes,pca"),
                                             ("binarized-mnist:n_val=2", "naive-bayes,vae")])
def test_cli_runs_on_the_tiny_files(dataset, models, mnist_dir, tmp_path, cli):
    root, _ = mnist_dir
    out = tmp_path / "run"
    result = cli("run", "--dataset", dataset, "--data-dir", root, "--models", models, "--epochs", "1",
                 "--metrics", "log-likelihood:k=4", "--out", out, "--quiet")
    assert result.code == 0, result.err
    frame = pd.read_csv(out / "metrics.csv")
    ll = frame[frame.metric == "log_likelihood"]
    assert set(ll.model) == set(models.split(",")) and (ll.n == N_TEST).all() and (ll.status == "ok").all()
    assert set(frame.dataset) == {dataset.split(":")[0]}
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"]["options"] == {"n_val": 2, "split_seed": 0}
