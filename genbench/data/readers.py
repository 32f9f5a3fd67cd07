"""Reading the user's own files into raw arrays: a folder of PNG/JPEG images, or a .npy/.npz/.pt file.

A reader returns *pools* of examples: ``{"all": pool}`` for data without splits of its own, or
``{"train": …, "test": …}`` (and ``"val"``) for data that comes split. Values keep the file's
dtype (images: uint8); what they mean is decided by ``genbench.data.from_path``.

Folders: images directly in the folder (no labels), or one subfolder per class (searched
recursively; the folder's name is the label). A folder whose subfolders are ``train`` and
``test`` (and optionally ``val``) holds its own splits, each laid out as above. Hidden files
and folders are ignored, and so are other files (with a warning).

Array files: a .npy holds the examples; a .npz (or a .pt dict) holds one array, or arrays named
``x`` (examples) and ``y`` (labels), or ``x_train``, ``x_test`` (``x_val``) with ``y_train``,
``y_test`` (``y_val``); a .pt may also hold a tensor or an ``(x, y)`` pair. A .pt file is read
with ``torch.load(weights_only=True)``: tensors only, no code runs.
"""

from __future__ import annotations

import logging
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genbench.errors import DataFormatError, first_sentence

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SPLIT_NAMES = ("train", "val", "test")
GREY_MODES = {"1", "L", "LA"}
COLOUR_MODES = {"P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"}


@dataclass(frozen=True)
class Pool:
    """Examples ``x`` (N, ...) as stored and their raw ``labels`` (N,) (numbers or names), if any."""

    x: np.ndarray
    labels: np.ndarray | None = None


def read_pools(path: Path, size: tuple[int, int] | None = None) -> dict[str, Pool]:
    """The pools in a folder of images (each resized to ``size`` = (H, W) when given) or an array file."""
    if path.is_dir():
        return read_image_folder(path, size)
    if size is not None:
        raise DataFormatError(f"resize works on folders of images; {path} is an array file: resize its "
                              "images before saving them")
    return read_array_file(path)


# ------------------------------------------------------------------------------------------- images
def read_image_folder(root: Path, size: tuple[int, int] | None = None) -> dict[str, Pool]:
    """Pools of uint8 images (N, C, H, W), C = 1 when every image is grey, else 3 (RGB)."""
    folders = _split_folders(root)
    files = {pool: _labelled_files(folder) for pool, folder in folders.items()}
    images = {pool: [_read_image(path, size) for path, _ in found] for pool, found in files.items()}
    every = [(path, image) for pool in files for (path, _), image in zip(files[pool], images[pool])]
    first_path, first = every[0]
    for path, image in every:
        if image.shape[:2] != first.shape[:2]:
            raise DataFormatError(f"images differ in size: {first_path} is {_size(first)} and {path} is "
                                  f"{_size(image)} (height×width); pass --resize SIZE (dataset option "
                                  "resize=SIZE), e.g. 32 or 28x28")
    channels = max(image.shape[2] for _, image in every)
    pools = {}
    for pool, found in files.items():
        x = np.stack([np.repeat(image, channels // image.shape[2], axis=2) for image in images[pool]])
        labels = [label for _, label in found]
        pools[pool] = Pool(x.transpose(0, 3, 1, 2), None if labels[0] is None else np.array(labels))
    return pools


def _size(image: np.ndarray) -> str:
    return f"{image.shape[0]}×{image.shape[1]}"


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def _split_folders(root: Path) -> dict[str, Path]:
    entries = _visible(root)
    names = {p.name for p in entries if p.is_dir()}
    has_images = any(_is_image(p) for p in entries)
    if {"train", "test"} <= names <= set(SPLIT_NAMES) and not has_images:
        return {name: root / name for name in SPLIT_NAMES if name in names}
    return {"all": root}


def _labelled_files(folder: Path) -> list[tuple[Path, str | None]]:
    """(image, class name or None) for every image in ``folder``, in a fixed (sorted) order."""
    entries = _visible(folder)
    classes = [p for p in entries if p.is_dir()]
    images = [p for p in entries if _is_image(p)]
    others = [p for p in entries if p.is_file() and not _is_image(p)]
    if classes and images:
        raise DataFormatError(f"{folder} holds both images ({images[0].name}) and class folders "
                              f"({classes[0].name}/); put every image in a class folder, or none")
    found: list[tuple[Path, str | None]] = [(p, None) for p in images]
    for class_folder in classes:
        inside = sorted(p for p in class_folder.rglob("*")
                        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))
        if not any(_is_image(p) for p in inside):
            raise DataFormatError(f"class folder {class_folder} holds no PNG or JPEG images")
        found += [(p, class_folder.name) for p in inside if _is_image(p)]
        others += [p for p in inside if not _is_image(p)]
    if not found:
        raise DataFormatError(f"{folder} holds no PNG or JPEG images (.png, .jpg, .jpeg)")
    if others:
        log.warning("%s: skipped %d file(s) that are not PNG or JPEG images, e.g. %s", folder, len(others),
                    others[0].relative_to(folder))
    return found


def _read_image(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    """(H, W, 1) grey or (H, W, 3) RGB uint8 pixels; alpha is dropped; bilinear resize to ``size``."""
    from PIL import Image  # defers Pillow

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode not in GREY_MODES | COLOUR_MODES:
                raise DataFormatError(f"{path} is a {image.mode} image; genbench reads 8-bit grey or colour "
                                      "images (convert it to 8 bits per channel)")
            image = image.convert("L" if image.mode in GREY_MODES else "RGB")
            if size is not None:
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except DataFormatError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DataFormatError(f"cannot read image {path}: {first_sentence(error)}") from None
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


# ------------------------------------------------------------------------------------------- arrays
def read_array_file(path: Path) -> dict[str, Pool]:
    """Pools from a .npy, .npz or .pt file (see the module docstring for the names it reads)."""
    suffix = path.suffix.lower()
    if suffix == ".pt":
        return _pools_from_arrays(_tensors_as_arrays(_torch_load(path), path), path)
    try:
        if suffix == ".npy":
            with open(path, "rb") as file:
                arrays = {"x": np.lib.format.read_array(file, allow_pickle=False)}
        else:
            if not zipfile.is_zipfile(path):
                raise zipfile.BadZipFile("not a zip archive, which an .npz file is")
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataFormatError(f"cannot read {path}: {first_sentence(error)}") from None
    return _pools_from_arrays(arrays, path)


def _torch_load(path: Path) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):
            raise DataFormatError(f"{path} holds objects other than tensors, which torch.load(weights_only=True) "
                                  "refuses; save a tensor, an (x, y) pair or a dict of tensors") from None
        raise DataFormatError(f"cannot read {path}: not a file written by torch.save, or a corrupt one") from None
    except Exception as error:  # noqa: BLE001 - torch.load fails in many ways on files it did not write
        raise DataFormatError(f"cannot read {path}: not a file written by torch.save, or a corrupt one "
                              f"({type(error).__name__}: {first_sentence(error)})") from None


def _tensors_as_arrays(content: object, path: Path) -> dict[str, np.ndarray]:
    if isinstance(content, torch.Tensor):
        content = {"x": content}
    elif isinstance(content, tuple | list) and len(content) == 2:
        content = {"x": content[0], "y": content[1]}
    if not (isinstance(content, dict) and content and all(isinstance(t, torch.Tensor) for t in content.values())):
        raise DataFormatError(f"{path} holds a {type(content).__name__}; genbench reads a tensor, an (x, y) pair "
                              "or a dict of tensors from a .pt file")
    as_numpy = {torch.bfloat16: torch.float32, torch.float16: torch.float32}
    return {str(k): t.detach().to(as_numpy.get(t.dtype, t.dtype)).numpy() for k, t in content.items()}


def _pools_from_arrays(arrays: dict[str, np.ndarray], path: Path) -> dict[str, Pool]:
    keys = set(arrays)
    split_keys = {f"{a}_{s}" for a in "xy" for s in SPLIT_NAMES}
    if len(keys) == 1:
        layout = {"all": (next(iter(keys)), None)}
    elif "x" in keys and keys <= {"x", "y"}:
        layout = {"all": ("x", "y")}
    elif {"x_train", "x_test"} <= keys <= split_keys:
        layout = {s: (f"x_{s}", f"y_{s}" if f"y_{s}" in keys else None) for s in SPLIT_NAMES if f"x_{s}" in keys}
    else:
        raise DataFormatError(f"{path} holds arrays named {', '.join(sorted(keys))}; name the examples x (labels: "
                              "y), or x_train and x_test (x_val optional; labels: y_train, y_test, y_val)")
    pools = {}
    for pool, (x_key, y_key) in layout.items():
        x, y = arrays[x_key], None if y_key is None else arrays[y_key]
        if x.ndim == 0 or len(x) == 0:
            raise DataFormatError(f"{path}: {x_key} holds no examples (shape {x.shape})")
        if y is not None and (y.ndim != 1 or len(y) != len(x)):
            raise DataFormatError(f"{path}: {y_key} has shape {y.shape}; it needs one label per example of "
                                  f"{x_key} ({len(x)})")
        pools[pool] = Pool(x, y)
    return pools
