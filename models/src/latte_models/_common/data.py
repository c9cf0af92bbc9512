"""Datasets that ship inside scikit-learn, and a stable stratified split recorded by digest."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
from numpy.typing import NDArray

__all__ = ["Dataset", "Split", "split_dataset"]


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
