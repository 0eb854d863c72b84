import gzip
import pickle
import random
import struct

import numpy as np
import pytest
import torch

from sgdcheck import data
from sgdcheck.errors import DataError


def write_idx(raw, prefix, images, labels):
    """IDX files as published (magic 2051 / 2049, big-endian sizes), uncompressed, in raw/."""
    raw.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, rows, cols) + images.tobytes())
    (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())


@pytest.fixture
def mnist_root(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 4)):
        write_idx(tmp_path / "MNIST" / "raw", prefix, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                  (np.arange(n) % 10).astype(np.uint8))
    return tmp_path


def test_mnist_loads_from_idx_files(mnist_root):
    train, test = data.load("mnist", root=mnist_root), data.load("mnist", root=mnist_root, split="test")
    assert train.x.shape == (12, 1, 28, 28) and len(test) == 4
    assert train.x.dtype == torch.float32 and 0 <= train.x.min() and train.x.max() <= 1
    assert train.y.tolist() == [i % 10 for i in range(12)]


def test_mnist_missing_and_corrupt(tmp_path, mnist_root):
    with pytest.raises(DataError, match="no data under"):
        data.load("mnist", root=tmp_path / "empty")
    (mnist_root / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(DataError, match="corrupt"):
        data.load("mnist", root=mnist_root)


def write_cifar(folder, batches):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for name, n in batches:
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(np.arange(n) % 10),
                 "batch_label": name}
        with open(folder / name, "wb") as handle:
            pickle.dump(entry, handle)


def test_cifar10_loads_python_batches_and_selects_classes(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py", [(f"data_batch_{i}", 10) for i in range(1, 6)] + [("test_batch", 10)])
    train = data.load("cifar10", root=tmp_path)
    assert train.x.shape == (50, 3, 32, 32) and train.y.max() == 9
    planes_cars = train.select_classes([0, 1])
    assert len(planes_cars) == 10 and set(planes_cars.y.tolist()) == {0, 1} and planes_cars.num_classes == 2
    assert len(data.load("cifar10", root=tmp_path, split="test")) == 10


def test_cifar10_missing_and_corrupt(tmp_path):
    with pytest.raises(DataError, match="missing"):
        data.load("cifar10", root=tmp_path)
    write_cifar(tmp_path / "cifar-10-batches-py", [("test_batch", 4)])
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="corrupt"):
        data.load("cifar10", root=tmp_path, split="test")


def test_fashion_mnist_installs_gzipped_idx_files(tmp_path):
    source = tmp_path / "debian"
    source.mkdir()
    rng = np.random.default_rng(0)
    staging = tmp_path / "plain"
    for prefix, n in (("train", 6), ("t10k", 3)):
        write_idx(staging, prefix, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.zeros(n, np.uint8))
    for path in staging.iterdir():
        (source / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
    data.install_idx_files(source, tmp_path / "root" / "FashionMNIST" / "raw")
    assert len(data.load("fashion-mnist", root=tmp_path / "root")) == 6
    (source / "t10k-labels-idx1-ubyte.gz").write_bytes(b"broken")
    with pytest.raises(DataError, match="corrupt"):
        data.install_idx_files(source, tmp_path / "other")
    assert not list((tmp_path / "other").glob(".*"))  # no half-written file left behind


@pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_debian_files(tmp_path):
    train = data.load("fashion-mnist", root=tmp_path)
    assert train.x.shape == (60000, 1, 28, 28) and train.y[:5].tolist() == [9, 0, 0, 3, 0]
    assert len(data.load("fashion-mnist", root=tmp_path, split="test")) == 10000


def test_mnist1d_keeps_the_global_random_state():
    np.random.seed(123)
    random.seed(7)
    before = (np.random.random(), random.random())
    np.random.seed(123)
    random.seed(7)
    ds = data.load("mnist1d")
    after = (np.random.random(), random.random())
    assert before == after
    assert ds.x.shape == (4000, 40) and ds.num_classes == 10


def test_digits_and_teacher_student():
    digits = data.load("digits")
    assert digits.x.shape[1:] == (1, 8, 8) and float(digits.x.max()) <= 1.0
    ts = data.teacher_student(50, 4, width=6, outputs=2, seed=3)
    assert ts.y.shape == (50, 2) and ts.num_classes is None
    assert torch.equal(ts.y, data.teacher_student(50, 4, width=6, outputs=2, seed=3).y)


def _toy(n=40, classes=4):
    return data.Dataset("toy", torch.arange(n, dtype=torch.float32)[:, None], torch.arange(n) % classes, classes)


def test_subsets_labels_and_corruption():
    toy = _toy()
    assert toy.subset(10).y.tolist() == (torch.arange(10) % 4).tolist()
    assert toy.subset(8, "balanced").y.bincount().tolist() == [2, 2, 2, 2]
    shuffled = toy.with_random_labels(1.0, seed=0)
    assert not torch.equal(shuffled.y, toy.y) and shuffled.y.max() < 4
    assert torch.equal(toy.with_random_labels(0.0).y, toy.y)
    bad = data.corrupted(toy, 20, 10, seed=1)
    assert len(bad) == 30 and torch.equal(bad.y[:20], toy.y[:20]) and torch.equal(bad.x[20:], toy.x[20:30])
    assert toy.one_hot().shape == (40, 4) and toy.one_hot().sum(1).eq(1).all()
    assert toy.standardized().x.mean().abs() < 1e-6


@pytest.mark.parametrize("call, message", [
    (lambda: data.load("imagenet"), "unknown dataset 'imagenet'"),
    (lambda: data.load("mnist", split="val"), "split"),
    (lambda: _toy().subset(41), "asked for 41"),
    (lambda: _toy().subset(10, "balanced"), "divisible"),
    (lambda: _toy().select_classes([5]), "classes must be"),
    (lambda: data.corrupted(_toy(), 30, 20), r"30 \+ 20"),
    (lambda: data.teacher_student(0, 3), "n, dim, width"),
])
def test_bad_requests_name_the_problem(call, message):
    with pytest.raises(DataError, match=message):
        call()
