"""Your own data, by path: image folders and array files written here, checked against what was written."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import genbench
from genbench import catalog
from genbench.data import ValueType
from genbench.data.resolve import dataset_source
from genbench.errors import DataFormatError, DataMissingError, UnknownNameError, UsageError
from genbench.infra.rundir import RunDir
from genbench.records import untimed
from genbench.specs import Spec, parse_dataset_spec


def write_png(path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def grey_folder(root, classes=("cat", "dog", "emu"), per_class=10, size=(6, 5), seed=0) -> dict[bytes, str]:
    """root/<class>/<i>.png with random grey pixels; returns pixels → class name."""
    rng = np.random.default_rng(seed)
    written = {}
    for name in classes:
        for i in range(per_class):
            pixels = rng.integers(0, 256, size, dtype=np.uint8)
            write_png(root / name / f"{i:02d}.png", pixels)
            written[pixels.tobytes()] = name
    return written


def every_split(data):
    return [data.train, data.val, data.test]


def test_a_folder_with_class_subfolders(tmp_path):
    written = grey_folder(tmp_path / "animals")
    data = genbench.load_dataset(tmp_path / "animals")
    info = data.info
    assert info.name == "animals" and info.shape == (1, 6, 5)
    assert info.value_type is ValueType.DISCRETE and info.levels == 256
    assert info.n_classes == 3 and info.extra["class_names"] == ["cat", "dog", "emu"]
    assert [len(s) for s in every_split(data)] == [21, 3, 6]  # 70/10/20 of 30
    seen = set()
    for split in every_split(data):
        k = split.x.double().numpy() * 255
        assert np.abs(k - np.round(k)).max() < 1e-4  # values k/255
        for pixels, label in zip(np.round(k).astype(np.uint8)[:, 0], split.labels.tolist()):
            assert written[pixels.tobytes()] == info.extra["class_names"][label]
            seen.add(pixels.tobytes())
    assert seen == set(written)
    assert data.provenance["path"] == str((tmp_path / "animals").resolve())
    assert data.provenance["fingerprint"] == data.fingerprint and data.provenance["split_seed"] == 0


def test_splits_are_fixed_by_the_seed(tmp_path):
    grey_folder(tmp_path / "a")
    first, again = genbench.load_dataset(tmp_path / "a"), genbench.load_dataset(tmp_path / "a")
    other = genbench.load_dataset(tmp_path / "a", split_seed=1)
    assert first.fingerprint == again.fingerprint and torch.equal(first.test.x, again.test.x)
    assert first.fingerprint != other.fingerprint
    shares = genbench.load_dataset(tmp_path / "a", val_fraction=0.2, test_fraction=0.3)
    assert [len(s) for s in every_split(shares)] == [15, 6, 9]


def test_a_folder_of_images_without_classes_has_no_labels(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(10):
        write_png(tmp_path / "plain" / f"{i}.png", rng.integers(0, 256, (4, 4), dtype=np.uint8))
    (tmp_path / "plain" / "notes.txt").write_text("not an image")
    (tmp_path / "plain" / ".hidden").mkdir()
    data = genbench.load_dataset(tmp_path / "plain")
    assert data.train.labels is None and data.info.n_classes is None and "class_names" not in data.info.extra
    assert sum(len(s) for s in every_split(data)) == 10


def test_colour_and_grey_images_together_become_rgb(tmp_path):
    rng = np.random.default_rng(2)
    grey = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    colour = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (5, 4, 4), dtype=np.uint8)
    write_png(tmp_path / "mix" / "a.png", grey)
    write_png(tmp_path / "mix" / "b.png", colour)
    write_png(tmp_path / "mix" / "c.png", rgba)
    for i in range(7):
        write_png(tmp_path / "mix" / f"d{i}.png", colour)
    data = genbench.load_dataset(tmp_path / "mix")
    assert data.info.shape == (3, 5, 4) and data.info.latent_dim_hint == 64
    loaded = {np.round(x.numpy() * 255).astype(np.uint8).tobytes() for s in every_split(data) for x in s.x}
    assert np.repeat(grey[None], 3, axis=0).tobytes() in loaded  # grey copied to R, G and B
    assert colour.transpose(2, 0, 1).tobytes() in loaded
    assert rgba[:, :, :3].transpose(2, 0, 1).tobytes() in loaded  # alpha dropped


def test_jpeg_images_hold_what_pil_decodes(tmp_path):
    rng = np.random.default_rng(3)
    decoded = set()
    for i in range(10):
        path = tmp_path / "photos" / f"{i}.JPG"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path, format="JPEG")
        decoded.add(np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1).tobytes())
    data = genbench.load_dataset(tmp_path / "photos")
    assert data.info.shape == (3, 8, 8) and data.info.value_type is ValueType.DISCRETE
    assert {np.round(x.numpy() * 255).astype(np.uint8).tobytes() for s in every_split(data) for x in s.x} == decoded


def test_black_and_white_images_are_binary(tmp_path):
    rng = np.random.default_rng(4)
    for i in range(10):
        write_png(tmp_path / "bw" / f"{i}.png", (rng.random((6, 6)) < 0.3).astype(np.uint8) * 255)
    data = genbench.load_dataset(tmp_path / "bw")
    assert data.info.value_type is ValueType.BINARY
    assert set(torch.cat([s.x for s in every_split(data)]).unique().tolist()) == {0.0, 1.0}


def test_images_of_different_sizes_need_resize(tmp_path, cli):
    write_png(tmp_path / "sizes" / "a.png", np.zeros((6, 5), np.uint8))
    write_png(tmp_path / "sizes" / "b.png", np.zeros((8, 4), np.uint8))
    for i in range(8):
        write_png(tmp_path / "sizes" / f"c{i}.png", np.full((6, 5), 9 * i, np.uint8))
    with pytest.raises(DataFormatError) as caught:
        genbench.load_dataset(tmp_path / "sizes")
    message = str(caught.value)
    assert f"{tmp_path / 'sizes' / 'a.png'} is 6×5 and {tmp_path / 'sizes' / 'b.png'} is 8×4" in message
    assert "--resize SIZE" in message
    data = genbench.load_dataset(tmp_path / "sizes", resize="4x3")
    assert data.info.shape == (1, 4, 3)
    expected = np.asarray(Image.fromarray(np.full((6, 5), 9 * 7, np.uint8)).resize((3, 4), Image.Resampling.BILINEAR))
    loaded = {np.round(x.numpy() * 255).astype(np.uint8).tobytes() for s in every_split(data) for x in s.x}
    assert expected.tobytes() in loaded
    assert genbench.load_dataset(tmp_path / "sizes", resize=4).info.shape == (1, 4, 4)
    assert data.provenance["resize"] == (4, 3) and data.options["resize"] == [4, 3]


def test_a_folder_with_its_own_splits_keeps_them(tmp_path):
    train = grey_folder(tmp_path / "split" / "train", per_class=6, seed=5)
    test = grey_folder(tmp_path / "split" / "test", per_class=2, seed=6)
    data = genbench.load_dataset(tmp_path / "split")
    as_set = {np.round(x.numpy() * 255).astype(np.uint8)[0].tobytes() for x in data.test.x}
    assert as_set == set(test) and len(data.test) == 6
    assert len(data.train) + len(data.val) == 18 and len(data.val) == 2  # 10% of the training pool, rounded
    assert data.provenance["test_split"] == "fixed"
    grey_folder(tmp_path / "split" / "val", per_class=1, seed=7)
    data = genbench.load_dataset(tmp_path / "split")
    assert [len(s) for s in every_split(data)] == [18, 3, 6] and data.provenance["splits"] == "given"
    assert {np.round(x.numpy() * 255).astype(np.uint8)[0].tobytes() for x in data.train.x} == set(train)


# ---------------------------------------------------------------------------------------- array files
@pytest.mark.parametrize("values, value_type, expected", [
    (np.array([[0.5, -1.0], [2.0, 0.25]] * 5), ValueType.CONTINUOUS, lambda v: v),
    (np.array([[0.0, 1.0], [1.0, 1.0]] * 5), ValueType.BINARY, lambda v: v),
    (np.array([[False, True], [True, True]] * 5), ValueType.BINARY, lambda v: v.astype(float)),
    (np.array([[0, 255], [255, 0]] * 5, np.uint8), ValueType.BINARY, lambda v: v / 255),
    (np.array([[0, 7], [200, 255]] * 5, np.uint8), ValueType.DISCRETE, lambda v: v / 255),
    (np.array([[0, 2], [1, 4]] * 5, np.int32), ValueType.CATEGORICAL, lambda v: v),
])
def test_value_types_are_inferred_from_the_values(values, value_type, expected, tmp_path):
    np.save(tmp_path / "x.npy", values)
    data = genbench.load_dataset(tmp_path / "x.npy", split_seed=3)
    assert data.info.value_type is value_type and data.info.shape == (2,)
    loaded = torch.cat([s.x for s in every_split(data)]).double().numpy()
    assert np.allclose(np.sort(loaded, axis=0), np.sort(expected(values).astype(float), axis=0), atol=1e-6)
    if value_type is ValueType.CATEGORICAL:
        assert data.info.n_categories == [2, 5] and data.train.x.dtype == torch.int64


@pytest.mark.parametrize("options, value_type, levels, expected", [
    ({"value_type": "continuous"}, ValueType.CONTINUOUS, None, lambda v: v / 255),
    ({"value_type": "categorical"}, ValueType.CATEGORICAL, None, lambda v: v),
    ({"levels": "256"}, ValueType.DISCRETE, 256, lambda v: v / 255),
    ({"value_type": "discrete", "levels": "300"}, ValueType.DISCRETE, 300, lambda v: v / 299),
])
def test_value_type_overrides(options, value_type, levels, expected, tmp_path):
    values = np.arange(40, dtype=np.uint8).reshape(10, 4) * 6
    np.save(tmp_path / "x.npy", values)
    data = genbench.load_dataset(tmp_path / "x.npy", **options)
    assert data.info.value_type is value_type and data.info.levels == levels
    loaded = torch.cat([s.x for s in every_split(data)]).double().numpy()
    assert np.allclose(np.sort(loaded, axis=0), np.sort(expected(values.astype(float)), axis=0), atol=1e-6)


def test_floats_on_a_grid_can_be_declared_discrete(tmp_path):
    k = np.random.default_rng(5).integers(0, 5, (10, 3))
    np.save(tmp_path / "grid.npy", (k / 4).astype(np.float32))
    data = genbench.load_dataset(tmp_path / "grid.npy", value_type="discrete", levels=5)
    assert data.info.levels == 5
    indices = torch.cat([data.info.to_indices(s.x) for s in every_split(data)]).numpy()
    assert np.array_equal(np.sort(indices, axis=0), np.sort(k, axis=0))
    with pytest.raises(DataFormatError, match="needs levels=L"):
        genbench.load_dataset(tmp_path / "grid.npy", value_type="discrete")
    with pytest.raises(DataFormatError, match=r"needs values on the grid k/2, .*its values include 0, 0\.25"):
        genbench.load_dataset(tmp_path / "grid.npy", levels=3)


def test_images_in_arrays_get_a_channel_axis(tmp_path):
    rng = np.random.default_rng(6)
    grey = rng.integers(0, 256, (10, 7, 6), dtype=np.uint8)
    colour = rng.integers(0, 256, (10, 7, 6, 3), dtype=np.uint8)
    np.save(tmp_path / "grey.npy", grey)
    np.save(tmp_path / "colour.npy", colour)
    assert genbench.load_dataset(tmp_path / "grey.npy").info.shape == (1, 7, 6)
    data = genbench.load_dataset(tmp_path / "colour.npy")
    assert data.info.shape == (3, 7, 6) and data.info.latent_dim_hint == 64
    loaded = {np.round(x.numpy() * 255).astype(np.uint8).tobytes() for s in every_split(data) for x in s.x}
    assert loaded == {c.transpose(2, 0, 1).tobytes() for c in colour}


def test_npz_with_examples_and_named_labels(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    y = np.array(["setosa", "virginica"] * 10)
    np.savez(tmp_path / "iris.npz", x=x, y=y)
    data = genbench.load_dataset(tmp_path / "iris.npz", title="flowers")
    assert data.info.name == "flowers" and data.info.extra["class_names"] == ["setosa", "virginica"]
    for split in every_split(data):
        for row, label in zip(split.x.numpy(), split.labels.tolist()):
            (i,) = np.flatnonzero((x == row).all(1))
            assert y[i] == ["setosa", "virginica"][label]


def test_npz_with_its_own_splits(tmp_path):
    rng = np.random.default_rng(8)
    x_train, x_test = rng.normal(size=(20, 2)), rng.normal(size=(6, 2))
    np.savez(tmp_path / "s.npz", x_train=x_train, y_train=np.arange(20) % 3, x_test=x_test, y_test=np.arange(6) % 3)
    data = genbench.load_dataset(tmp_path / "s.npz")
    assert np.allclose(data.test.x.numpy(), x_test, atol=1e-6) and data.test.labels.tolist() == [0, 1, 2] * 2
    assert (len(data.train), len(data.val)) == (18, 2) and data.info.n_classes == 3


def test_torch_files_hold_a_tensor_a_pair_or_a_dict(tmp_path):
    x = torch.rand(10, 4)
    y = torch.arange(10) % 2
    torch.save(x, tmp_path / "t.pt")
    torch.save((x, y), tmp_path / "pair.pt")
    torch.save({"x": x, "y": y}, tmp_path / "dict.pt")
    assert genbench.load_dataset(tmp_path / "t.pt").train.labels is None
    for name in ("pair.pt", "dict.pt"):
        data = genbench.load_dataset(tmp_path / name)
        assert data.info.n_classes == 2 and data.info.value_type is ValueType.CONTINUOUS
        loaded = torch.cat([s.x for s in every_split(data)])
        labels = torch.cat([s.labels for s in every_split(data)])
        order = torch.argsort(loaded[:, 0])
        assert torch.equal(loaded[order], x[torch.argsort(x[:, 0])])
        assert torch.equal(labels[order], y[torch.argsort(x[:, 0])])


class Unsafe:
    """An object that torch.load(weights_only=True) must refuse."""


@pytest.mark.parametrize("name, content, message", [
    ("garbage.npy", b"definitely not numpy", "cannot read .*garbage.npy: the magic string is not correct"),
    ("garbage.npz", b"PK but not a zip", "cannot read .*garbage.npz: not a zip archive"),
    ("garbage.pt", b"not a torch file", "cannot read .*garbage.pt: not a file written by torch.save"),
    ("data.csv", b"1,2\n3,4\n", r"data.csv is a \.csv file; genbench reads a folder of PNG/JPEG images or an array"),
    ("one.png", None, "one.png is a single image"),
])
def test_unreadable_files_are_named(name, content, message, tmp_path):
    path = tmp_path / name
    if content is None:
        write_png(path, np.zeros((2, 2), np.uint8))
    else:
        path.write_bytes(content)
    with pytest.raises(DataFormatError, match=message) as caught:
        genbench.load_dataset(path)
    assert "\n" not in str(caught.value)


def test_a_torch_file_with_other_objects_is_refused_without_running_them(tmp_path):
    torch.save({"x": torch.zeros(4, 2), "extra": Unsafe()}, tmp_path / "objects.pt")
    with pytest.raises(DataFormatError, match="holds objects other than tensors"):
        genbench.load_dataset(tmp_path / "objects.pt")


def test_corrupt_and_truncated_images_are_named(tmp_path):
    grey_folder(tmp_path / "a", per_class=4)
    bad = tmp_path / "a" / "dog" / "01.png"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(DataFormatError, match=f"cannot read image {bad}"):
        genbench.load_dataset(tmp_path / "a")
    bad.write_bytes(b"plain text")
    with pytest.raises(DataFormatError, match=f"cannot read image {bad}: cannot identify image file"):
        genbench.load_dataset(tmp_path / "a")


def test_folder_layout_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="empty holds no PNG or JPEG images"):
        genbench.load_dataset(tmp_path / "empty")
    grey_folder(tmp_path / "hollow", per_class=3)
    (tmp_path / "hollow" / "fox").mkdir()
    with pytest.raises(DataFormatError, match=f"class folder {tmp_path / 'hollow' / 'fox'} holds no PNG or JPEG"):
        genbench.load_dataset(tmp_path / "hollow")
    grey_folder(tmp_path / "mixed", per_class=3)
    write_png(tmp_path / "mixed" / "stray.png", np.zeros((6, 5), np.uint8))
    with pytest.raises(DataFormatError, match=r"holds both images \(stray.png\) and class folders \(cat/\)"):
        genbench.load_dataset(tmp_path / "mixed")


def test_array_layout_errors(tmp_path):
    np.savez(tmp_path / "many.npz", a=np.zeros((4, 2)), b=np.zeros((4, 2)))
    with pytest.raises(DataFormatError, match="holds arrays named a, b; name the examples x"):
        genbench.load_dataset(tmp_path / "many.npz")
    np.savez(tmp_path / "short.npz", x=np.zeros((4, 2)), y=np.zeros(3))
    with pytest.raises(DataFormatError, match=r"y has shape \(3,\); it needs one label per example of x \(4\)"):
        genbench.load_dataset(tmp_path / "short.npz")
    np.savez(tmp_path / "half.npz", x_train=np.zeros((4, 2)), y_train=np.zeros(4), x_test=np.zeros((2, 2)))
    with pytest.raises(DataFormatError, match="has labels for some splits only"):
        genbench.load_dataset(tmp_path / "half.npz")
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan]] * 9 + [[np.inf, 1.0]]))
    with pytest.raises(DataFormatError, match=r"nan.npy holds 9 NaN and 1 infinite values \(of 20\)"):
        genbench.load_dataset(tmp_path / "nan.npy")
    np.save(tmp_path / "grey.npy", np.arange(30, dtype=np.uint8).reshape(10, 3))
    with pytest.raises(DataFormatError, match="value_type=binary needs only 0 and 1"):
        genbench.load_dataset(tmp_path / "grey.npy", value_type="binary")
    with pytest.raises(DataFormatError, match="resize works on folders of images"):
        genbench.load_dataset(tmp_path / "grey.npy", resize=4)
    np.save(tmp_path / "few.npy", np.zeros((2, 3)))
    with pytest.raises(UsageError, match="2 examples are too few to split into 3 non-empty parts"):
        genbench.load_dataset(tmp_path / "few.npy")


@pytest.mark.parametrize("options, message", [
    ({"value_type": "ordinal"}, "value_type must be one of binary, discrete, continuous, categorical"),
    ({"value_type": "binary", "levels": 4}, "levels goes with value_type=discrete"),
    ({"resize": "0"}, "resize takes SIZE or HEIGHTxWIDTH"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "sum below 1"),
    ({"colour": "red"}, "unknown option 'colour' for dataset path; valid options: path, value_type"),
    ({"path": "elsewhere"}, "already a path; drop the option path=elsewhere"),
])
def test_options_are_checked(options, message, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((10, 2)))
    with pytest.raises(UsageError, match=message):
        genbench.load_dataset(tmp_path / "x.npy", **options)


# ------------------------------------------------------------------------------------ name resolution
def test_names_and_paths_resolve_in_one_place(tmp_path, monkeypatch, caplog):
    assert type(dataset_source("rings", {}, catalog.DATASETS)).__name__ == "Rings"
    with pytest.raises(UnknownNameError, match="unknown dataset 'ringz'; valid: .*, or the path of your own data"):
        dataset_source("ringz", {}, catalog.DATASETS)
    with pytest.raises(DataMissingError, match="there is no file or folder .*missing/x.npy"):
        genbench.load_dataset(tmp_path / "missing" / "x.npy")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits").mkdir()
    with caplog.at_level(logging.WARNING, logger="genbench"):
        data = genbench.load_dataset("digits")
    assert data.info.levels == 17 and "write ./digits for yours" in caplog.text


def test_a_path_may_hold_colons(tmp_path):
    folder = tmp_path / "run:1"
    grey_folder(folder, per_class=4)
    assert parse_dataset_spec(f"{folder}:split_seed=2:resize=3") == Spec(str(folder), (("split_seed", "2"),
                                                                                        ("resize", "3")))
    assert parse_dataset_spec(str(folder)) == Spec(str(folder))
    assert parse_dataset_spec("rings:std=0.1") == Spec("rings", (("std", "0.1"),))
    with pytest.raises(UsageError, match="must be key=value"):
        parse_dataset_spec(f"{folder}:oops")


# ---------------------------------------------------------------------------------------------- CLI
@pytest.mark.slow
def test_cli_runs_on_a_folder_of_images(tmp_path, cli):
    grey_folder(tmp_path / "animals", size=(8, 8))
    out = tmp_path / "run"
    result = cli("run", "--dataset", tmp_path / "animals", "--models", "naive-bayes,pca", "--epochs", "1",
                 "--resize", "6x4", "--out", out, "--quiet")
    assert result.code == 0, result.err
    frame = pd.read_csv(out / "metrics.csv")
    ll = frame[frame.metric == "log_likelihood"]
    ll = ll[ll.model != "real-data"]  # the real-vs-real reference column has no likelihood
    assert set(ll.model) == {"naive-bayes", "pca"} and (ll.status == "ok").all() and (ll.n == 6).all()
    assert set(frame.dataset) == {"animals"}
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"]["name"] == "path"
    assert config["dataset"]["options"]["path"] == str((tmp_path / "animals").resolve())
    assert config["dataset"]["options"]["resize"] == [6, 4]
    assert config["run"]["dataset"] == f"{tmp_path / 'animals'}:resize=6x4"


@pytest.mark.slow
def test_cli_resumes_a_run_on_a_path_with_a_colon(tmp_path, cli):
    folder = tmp_path / "a:b"
    grey_folder(folder, per_class=4)
    out = tmp_path / "run"
    assert cli("run", "--dataset", f"{folder}:split_seed=1", "--models", "naive-bayes", "--out", out,
               "--quiet").code == 0
    frame = untimed(RunDir(out).read_metrics())
    frame.iloc[:0].to_csv(out / "metrics.csv", index=False)  # as if killed before the first cell finished
    assert cli("run", "--resume", "--out", out, "--quiet").code == 0
    pd.testing.assert_frame_equal(untimed(RunDir(out).read_metrics()), frame)


def empty_folder(path):
    path.mkdir()
    return path


def text_file(path):
    path.write_text("1,2\n")
    return path


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "absent", "there is no file or folder"),
    (lambda tmp: empty_folder(tmp / "empty"), "holds no PNG or JPEG images"),
    (lambda tmp: text_file(tmp / "table.csv"), "is a .csv file"),
])
def test_cli_data_errors_are_one_line_and_exit_2(make, message, tmp_path, cli):
    result = cli("run", "--dataset", make(tmp_path), "--models", "naive-bayes", "--out", tmp_path / "r")
    assert result.code == 2, result.err
    assert message in result.err and result.err.strip().count("\n") == 0 and "Traceback" not in result.err
    assert not (tmp_path / "r").exists()  # found before the run started


def test_resize_is_an_option_of_path_datasets_only(tmp_path, cli):
    result = cli("run", "--dataset", "digits", "--resize", "4", "--models", "naive-bayes", "--out", tmp_path / "r")
    assert result.code == 2 and "unknown option 'resize' for dataset digits" in result.err


def test_cli_mixed_sizes_suggest_resize(tmp_path, cli):
    write_png(tmp_path / "s" / "a.png", np.zeros((6, 5), np.uint8))
    write_png(tmp_path / "s" / "b.png", np.zeros((8, 4), np.uint8))
    result = cli("run", "--dataset", tmp_path / "s", "--models", "naive-bayes", "--out", tmp_path / "r")
    assert result.code == 2 and "pass --resize SIZE" in result.err and result.err.strip().count("\n") == 0


def test_list_mentions_paths(cli):
    result = cli("list", "datasets")
    assert "mnist" in result.out and "cifar10" in result.out and "PATH" in result.out
    assert "value_type=none" in result.out  # as the command line takes it


def test_an_unlabelled_image_folder_says_why_quality_is_missing(tmp_path, cli):
    """No labels, no domain classifier, no feature space: said at the start, and as the reason of both rows."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(60):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    result = cli("run", "--dataset", folder, "--models", "pca", "--metrics", "fidelity", "--out", tmp_path / "r")
    assert result.code == 0, result.err
    first = result.err.splitlines()[0]
    assert first.startswith("genbench: IS, FID, KID, precision/recall and density/coverage will be n/a: no feature "
                            "space for imgs: it has no labels")
    table = pd.read_csv(tmp_path / "r" / "table.csv", keep_default_na=False).set_index(["property", "model"])
    for row in ("High-quality samples", "Coverage"):
        assert table.loc[(row, "pca"), "text"].startswith("no feature space for imgs"), row
