"""``circnn train``: train a block-circulant MLP or CNN on scikit-learn's digits."""

from __future__ import annotations

import time

from . import options
from .digits import INPUT_SCALE, load_digits_split
from .files import save_model
from .report import emit, progress, table
from .training import TrainConfig, accuracy, build_cnn, build_mlp, train


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train a block-circulant network on the digits data set",
        description="Train a block-circulant MLP or CNN on scikit-learn's bundled digits "
                    "(8x8 images, raw pixel values 0..16), write a model file, print accuracy.")
    options.add_output(p, "model file to write (.npz)")
    p.add_argument("--arch", choices=("mlp", "cnn"), default="mlp", help="network kind")
    p.add_argument("--hidden", type=options.int_list, default=[256, 256], metavar="N,N",
                   help="MLP hidden layer sizes (default 256,256)")
    p.add_argument("--channels", type=options.int_list, default=[32, 64], metavar="C,C",
                   help="CNN: output channels of each CONV3x3+ReLU+pool layer (default 32,64)")
    p.add_argument("--k", type=options.power_of_two_list, default=None, metavar="K[,K...]",
                   help="block size, one for all layers or one per layer (1 = dense); "
                        "default 8 for mlp, 4,8 for cnn")
    p.add_argument("--epochs", type=options.positive_int, default=None,
                   help="training epochs (default 40 for mlp, 30 for cnn)")
    p.add_argument("--batch", type=options.positive_int, default=32, help="minibatch size")
    p.add_argument("--lr", type=options.positive_float, default=2e-3, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed of initialization and shuffling")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    options.add_json(p)
    p.set_defaults(run=run)


def run(args) -> int:
    x_train, y_train, x_test, y_test = load_digits_split()
    if args.arch == "mlp":
        k = args.k or [8]
        epochs = args.epochs or 40
        net = build_mlp(args.hidden, k, args.seed, input_scale=INPUT_SCALE)
    else:
        k = args.k or [4, 8]
        epochs = args.epochs or 30
        net = build_cnn(args.channels, k, args.seed, input_scale=INPUT_SCALE)
        x_train, x_test = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)
    quiet = args.quiet or args.json == "-"
    cfg = TrainConfig(epochs=epochs, batch=args.batch, lr=args.lr, seed=args.seed)
    t0 = time.time()

    def report(epoch, loss, acc):
        progress(f"epoch {epoch:3d}/{epochs}  loss {loss:.4f}  train accuracy {100 * acc:.2f} %"
                 f"  ({time.time() - t0:.1f} s)", quiet)

    train(net, x_train, y_train, cfg, report)
    net.meta = {"trained_on": "sklearn digits", "arch": args.arch, "seed": args.seed,
                "epochs": epochs}
    save_model(args.output, net)
    test_acc = accuracy(net, x_test, y_test)
    data = {
        "model": args.output, "arch": args.arch, "k": [layer.k for layer in net.layers],
        "seed": args.seed, "epochs": epochs,
        "train_accuracy": accuracy(net, x_train, y_train), "test_accuracy": test_acc,
        "test_images": int(len(y_test)),
        "parameters": net.parameter_count, "dense_parameters": net.dense_parameter_count,
        "seconds": round(time.time() - t0, 2),
    }
    rows = [(i, l.kind, f"{l.out_features}x{l.in_features}", l.k, l.parameter_count,
             l.dense_parameter_count) for i, l in enumerate(net.layers)]
    text = table(rows, ("layer", "kind", "matrix", "k", "params", "dense params"))
    text += (f"\n\ntest accuracy {100 * test_acc:.2f} % on {len(y_test)} images; "
             f"{net.parameter_count} parameters ({net.dense_parameter_count / net.parameter_count:.1f}x"
             f" fewer than dense); model written to {args.output}")
    emit(args, text, data)
    return 0
