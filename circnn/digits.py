"""scikit-learn's bundled digits data set (no download), with circnn's fixed train/test split."""

from __future__ import annotations

import numpy as np

TEST_FRACTION = 0.2
SPLIT_SEED = 0
#: Raw digits pixels are integers 0..16; models store this normalization and apply it.
INPUT_SCALE = 1.0 / 16.0


def load_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)``: raw features (0..16, shape (N, 64)) and labels.

    The split is stratified and fixed (seed 0, 20 % test = 360 images), independent of any
    training seed, so accuracies of different models are measured on the same images.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = data.data.astype(np.float64)
    y = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y)
    return x_train, y_train, x_test, y_test
