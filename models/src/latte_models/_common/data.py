"""Datasets that ship inside scikit-learn, and a stable stratified split recorded by digest."""

from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from latte_contracts.atomic import atomic_path

__all__ = ["Dataset", "Split", "split_dataset", "write_test_split"]

_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Features (float32), integer labels and the human names of the labels."""

    source: str
    x: NDArray[np.float32]
    y: NDArray[np.int64]
    labels: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Split:
    """Train / validation / test row indices into a :class:`Dataset`, and their digest."""

    dataset: Dataset
    train: NDArray[np.int64]
    validation: NDArray[np.int64]
    test: NDArray[np.int64]

    def part(self, name: str) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Features and labels of one part: "train", "validation" or "test"."""
        rows = {"train": self.train, "validation": self.validation, "test": self.test}[name]
        return self.dataset.x[rows], self.dataset.y[rows]

    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "validation": len(self.validation),
            "test": len(self.test),
        }

    def digest(self) -> str:
        """sha256 over the data bytes and the three index lists: any change shows up here."""
        digest = hashlib.sha256()
        for array in (self.dataset.x, self.dataset.y, self.train, self.validation, self.test):
            digest.update(str(array.dtype).encode() + str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return f"sha256:{digest.hexdigest()}"


def write_test_split(path: Path, split: Split) -> None:
    """The held-out rows as ``.npz`` (``x`` float32 features, ``y`` labels): what the benchmark
    sends, read from here so it never re-derives the split. No timestamps inside (np.savez
    writes the current time), so the same split gives the same file."""
    x, y = split.part("test")
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive,
    ):
        for name, array in (("x", x), ("y", y)):
            with archive.open(zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH), "w") as out:
                np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)


def split_dataset(
    dataset: Dataset, *, seed: int, validation_fraction: float, test_fraction: float
) -> Split:
    """Stratified split with a fixed seed; indices are sorted so the order never depends on
    anything but the seed."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(dataset.y), dtype=np.int64)
    rest, test = train_test_split(
        rows, test_size=test_fraction, random_state=seed, stratify=dataset.y
    )
    # the validation share is of the whole set, so rescale it to what is left
    share = validation_fraction / (1.0 - test_fraction)
    train, validation = train_test_split(
        rest, test_size=share, random_state=seed, stratify=dataset.y[rest]
    )
    return Split(dataset, np.sort(train), np.sort(validation), np.sort(test))
