"""``circnn dataset``: export circnn's fixed digits split as .npy files, e.g. to feed ``infer``."""

from __future__ import annotations

from . import options
from .digits import load_digits_split
from .files import save_npy


def add_parser(sub) -> None:
    p = sub.add_parser(
        "dataset", help="export the digits train or test split as .npy",
        description="Write circnn's fixed digits split (raw features 0..16, shape (N, 64)).")
    p.add_argument("--split", choices=("train", "test"), default="test")
    options.add_output(p, "features to write (.npy)")
    p.add_argument("--labels", metavar="FILE", help="also write the labels (.npy)")
    p.add_argument("--image", action="store_true", help="shape (N, 1, 8, 8) instead of (N, 64)")
    p.set_defaults(run=run)


def run(args) -> int:
    x_train, y_train, x_test, y_test = load_digits_split()
    x, y = (x_train, y_train) if args.split == "train" else (x_test, y_test)
    if args.image:
        x = x.reshape(-1, 1, 8, 8)
    save_npy(args.output, x)
    if args.labels:
        save_npy(args.labels, y)
    print(f"{len(y)} {args.split} samples -> {args.output} {x.shape}")
    return 0
