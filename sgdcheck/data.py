"""Data sets as the papers use them: FashionMNIST, MNIST, CIFAR-10, mnist1d, digits, teacher-student.

Everything loads offline: FashionMNIST from Debian's `dataset-fashion-mnist` files
(/usr/share/datasets/fashion-mnist), a torchvision root, or torchvision's download where a network
exists; MNIST and CIFAR-10 from a user-given root in their published formats (IDX files; the
python pickle batches). A :class:`Dataset` then gives the papers' subsets (first n as in Wu et al.'s
code, or class-balanced), class selections, random labels, corruption and one-hot targets.
"""
from __future__ import annotations

import gzip
import os
import pickle
import random
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .errors import DataError

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def default_root() -> Path:
    return Path(os.environ.get("SGDCHECK_DATA", Path.home() / ".cache" / "sgdcheck" / "data"))


@dataclass(frozen=True)
class Dataset:
    """Inputs x [n, ...] (float32) and targets y: class labels [n] (int64), or values for regression."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    num_classes: int | None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if len(self.x) != len(self.y):
            raise DataError(f"{self.name}: {len(self.x)} inputs but {len(self.y)} targets")

    def __len__(self) -> int:
        return len(self.y)

    def _take(self, index, **meta) -> "Dataset":
        index = torch.as_tensor(index, dtype=torch.long)
        return replace(self, x=self.x[index], y=self.y[index], meta={**self.meta, **meta})

    def subset(self, n: int, how: str = "first", seed: int = 0) -> "Dataset":
        """The first n samples (as the source code of Wu et al. does) or n class-balanced ones."""
        if not 1 <= n <= len(self):
            raise DataError(f"{self.name}: asked for {n} samples, it has {len(self)}")
        if how == "first":
            return self._take(torch.arange(n), subset=f"first {n}")
        if how != "balanced" or self.num_classes is None:
            raise DataError(f"subset how must be 'first' or 'balanced' (classification only), got {how!r}")
        if n % self.num_classes:
            raise DataError(f"a balanced subset needs n divisible by {self.num_classes} classes, got {n}")
        generator = torch.Generator().manual_seed(seed)
        picks = []
        for label in range(self.num_classes):
            members = torch.nonzero(self.y == label).ravel()
            if len(members) < n // self.num_classes:
                raise DataError(f"{self.name}: class {label} has {len(members)} samples, need {n // self.num_classes}")
            picks.append(members[torch.randperm(len(members), generator=generator)[: n // self.num_classes]])
        return self._take(torch.cat(picks).sort().values, subset=f"balanced {n}, seed {seed}")

    def select_classes(self, classes) -> "Dataset":
        """Keep some classes (e.g. CIFAR-10 airplane vs automobile), relabelled 0..k-1 in the given order."""
        classes = list(classes)
        if self.num_classes is None or not all(0 <= c < self.num_classes for c in classes):
            raise DataError(f"{self.name}: classes must be labels in 0..{(self.num_classes or 0) - 1}, got {classes}")
        keep = torch.nonzero(torch.isin(self.y, torch.tensor(classes))).ravel()
        relabel = torch.full((self.num_classes,), -1, dtype=torch.long)
        relabel[torch.tensor(classes)] = torch.arange(len(classes))
        picked = self._take(keep, classes=classes)
        return replace(picked, y=relabel[picked.y], num_classes=len(classes))

    def with_random_labels(self, fraction: float = 1.0, seed: int = 0) -> "Dataset":
        """Replace the labels of a random `fraction` of samples by uniform random labels (Zhang et al.)."""
        if self.num_classes is None or not 0 <= fraction <= 1:
            raise DataError(f"random labels need a classification set and a fraction in [0, 1], got {fraction}")
        generator = torch.Generator().manual_seed(seed)
        chosen = torch.rand(len(self), generator=generator) < fraction
        labels = torch.where(chosen, torch.randint(self.num_classes, (len(self),), generator=generator), self.y)
        return replace(self, y=labels, meta={**self.meta, "random_labels": fraction, "label_seed": seed})

    def one_hot(self) -> torch.Tensor:
        """Targets for the MSE loss: one-hot rows [n, classes] in x's dtype."""
        if self.num_classes is None:
            raise DataError(f"{self.name} is a regression set: it has no one-hot targets")
        return torch.nn.functional.one_hot(self.y, self.num_classes).to(self.x.dtype)

    def standardized(self, reference: "Dataset | None" = None) -> "Dataset":
        """Zero mean, unit variance per input feature, with the statistics of `reference` (default self)."""
        ref = (reference or self).x
        mean, std = ref.mean(0, keepdim=True), ref.std(0, keepdim=True).clamp_min(1e-8)
        return replace(self, x=(self.x - mean) / std, meta={**self.meta, "standardized": True})

    def to(self, device=None, dtype=None) -> "Dataset":
        y = self.y.to(device) if self.num_classes is not None else self.y.to(device, dtype)
        return replace(self, x=self.x.to(device, dtype), y=y)


def corrupted(pool: Dataset, n_clean: int, n_extra: int, seed: int = 0) -> Dataset:
    """The first n_clean samples plus n_extra further samples with random labels
    (Wu, Ma & E 2018, Sec. 4.4: FashionMNIST 1000 + 200 random-label samples)."""
    if n_clean + n_extra > len(pool):
        raise DataError(f"{pool.name}: {n_clean} + {n_extra} samples asked, it has {len(pool)}")
    extra = pool._take(torch.arange(n_clean, n_clean + n_extra)).with_random_labels(1.0, seed)
    clean = pool._take(torch.arange(n_clean))
    return replace(clean, x=torch.cat([clean.x, extra.x]), y=torch.cat([clean.y, extra.y]),
                   meta={**pool.meta, "corrupted": f"{n_clean} clean + {n_extra} random-label", "label_seed": seed})


def load(name: str, *, root=None, split: str = "train", download: bool = False, seed: int = 0) -> Dataset:
    """Load a named data set. Images become float32 in [0, 1] with shape [n, C, H, W]."""
    loaders = {"fashion-mnist": _fashion_mnist, "mnist": _mnist, "cifar10": _cifar10, "mnist1d": _mnist1d,
               "digits": _digits}
    if name not in loaders:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(loaders))} (and teacher_student())")
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root) if root is not None else default_root()
    if name in ("mnist1d", "digits"):
        return loaders[name](split, seed)
    return loaders[name](root, split, download)


def _from_torchvision(cls, name: str, root: Path, split: str, download: bool) -> Dataset:
    try:
        data = cls(str(root), train=split == "train", download=download)
    except RuntimeError as error:
        raise DataError(f"{name}: no data under {root} ({error}); give a root with its IDX files in "
                        f"{cls.__name__}/raw/, or download=True where a network exists") from None
    except (ValueError, AssertionError, EOFError, OSError) as error:
        raise DataError(f"{name}: the files under {root / cls.__name__ / 'raw'} are corrupt ({error})") from None
    x = data.data.to(torch.float32).div_(255).unsqueeze(1)
    return Dataset(name, x, data.targets.to(torch.long), 10, {"root": str(root), "split": split})


def _fashion_mnist(root: Path, split: str, download: bool) -> Dataset:
    from torchvision.datasets import FashionMNIST

    raw = root / "FashionMNIST" / "raw"
    if not all((raw / f).exists() for f in IDX_FILES) and DEBIAN_FASHION_MNIST.exists():
        install_idx_files(DEBIAN_FASHION_MNIST, raw)
    return _from_torchvision(FashionMNIST, "fashion-mnist", root, split, download)


def install_idx_files(source: Path, raw: Path) -> None:
    """Gunzip IDX files (e.g. Debian's recompressed ones, whose md5 differs from torchvision's) into raw/,
    each through a temporary file so an interrupted copy leaves nothing half-written."""
    raw.mkdir(parents=True, exist_ok=True)
    for stem in IDX_FILES:
        target = raw / stem
        if target.exists():
            continue
        packed = source / f"{stem}.gz"
        if not packed.exists():
            raise DataError(f"{packed} is missing")
        handle, temporary = tempfile.mkstemp(dir=raw, prefix=f".{stem}.")
        try:
            with gzip.open(packed, "rb") as src, os.fdopen(handle, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(temporary, target)
        except (OSError, EOFError) as error:
            Path(temporary).unlink(missing_ok=True)
            raise DataError(f"{packed} is corrupt ({error})") from None


def _mnist(root: Path, split: str, download: bool) -> Dataset:
    from torchvision.datasets import MNIST

    return _from_torchvision(MNIST, "mnist", root, split, download)


def _cifar10(root: Path, split: str, download: bool) -> Dataset:
    """CIFAR-10's python batches (data_batch_1..5, test_batch) read directly, so a root without
    torchvision's checksums (or tiny test files in the same format) loads too."""
    folder = root / CIFAR_FOLDER
    if download and not folder.exists():
        from torchvision.datasets import CIFAR10

        CIFAR10(str(root), train=True, download=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for batch in names:
        path = folder / batch
        if not path.exists():
            raise DataError(f"cifar10: {path} is missing; give a root holding {CIFAR_FOLDER}/ "
                            f"(the python version of CIFAR-10)")
        try:
            with open(path, "rb") as handle:
                entry = pickle.load(handle, encoding="latin1")
            data = np.asarray(entry["data"], dtype=np.uint8)
            labels = np.asarray(entry["labels"], dtype=np.int64)
            if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
                raise ValueError(f"data of shape {data.shape} with {len(labels)} labels")
        except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError) as error:
            raise DataError(f"cifar10: {path} is corrupt ({error})") from None
        xs.append(data)
        ys.append(labels)
    x = torch.from_numpy(np.concatenate(xs).reshape(-1, 3, 32, 32)).to(torch.float32).div_(255)
    y = torch.from_numpy(np.concatenate(ys))
    if y.min() < 0 or y.max() > 9:
        raise DataError(f"cifar10: labels outside 0..9 under {folder}")
    return Dataset("cifar10", x, y, 10, {"root": str(root), "split": split, "classes": list(CIFAR_CLASSES)})


def _mnist1d(split: str, seed: int) -> Dataset:
    """mnist1d generated locally with make_dataset (never downloaded); the global random states are kept."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    state_np, state_py = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(state_np)
        random.setstate(state_py)
    x, y = (data["x"], data["y"]) if split == "train" else (data["x_test"], data["y_test"])
    return Dataset("mnist1d", torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long), 10,
                   {"split": split, "seed": seed})


def _digits(split: str, seed: int) -> Dataset:
    """scikit-learn's 8x8 digits, scaled to [0, 1], split 80/20 with a fixed permutation."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    cut = int(0.8 * len(order))
    index = order[:cut] if split == "train" else order[cut:]
    x = torch.as_tensor(digits.images[index] / 16.0, dtype=torch.float32).unsqueeze(1)
    return Dataset("digits", x, torch.as_tensor(digits.target[index], dtype=torch.long), 10,
                   {"split": split, "seed": seed})


def teacher_student(n: int, dim: int, *, width: int = 8, outputs: int = 1, noise: float = 0.0,
                    seed: int = 0) -> Dataset:
    """Regression targets from a random two-layer ReLU teacher: y = a^T relu(W x) / sqrt(width) + noise."""
    if n < 1 or dim < 1 or width < 1:
        raise DataError(f"teacher_student needs n, dim, width >= 1, got {n}, {dim}, {width}")
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=generator)
    w = torch.randn(width, dim, generator=generator) / dim**0.5
    a = torch.randn(outputs, width, generator=generator)
    y = torch.relu(x @ w.T) @ a.T / width**0.5 + noise * torch.randn(n, outputs, generator=generator)
    return Dataset("teacher-student", x, y, None, {"width": width, "noise": noise, "seed": seed})
