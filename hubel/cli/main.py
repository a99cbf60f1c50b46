"""The `hubel` command line.

    hubel train --model lenet5 --data fashion-mnist --epochs 12 --out runs/lenet5
    hubel evaluate runs/lenet5/best.safetensors --data fashion-mnist
    hubel predict runs/lenet5/best.safetensors shoe.png [more images...]
    hubel summary vgg16            (a zoo name or a model file)
    hubel datasets

Errors print one line (what, and where) and exit with status 1; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from hubel.data.errors import DataError


class CLIError(Exception):
    """A problem to report to the shell user in one line."""


# --- data -----------------------------------------------------------------------------------
def load_data(name: str, limit: int | None = None):
    """(x_train uint8, y_train, x_test, y_test, class names, data set name)."""
    from hubel.data import load

    ds = load(name)
    xtr, ytr, xte, yte = ds.x_train, ds.y_train, ds.x_test, ds.y_test
    if limit:
        xtr, ytr = xtr[:limit], ytr[:limit]
        xte, yte = xte[:max(limit // 5, 1)], yte[:max(limit // 5, 1)]
    return xtr, ytr, xte, yte, list(ds.class_names), ds.name or name


def preprocessing_of(model) -> dict:
    meta = getattr(model, "metadata", None) or {}
    if "preprocessing" not in meta:
        raise CLIError("the model file has no preprocessing metadata (it was not written by "
                       "`hubel train`); use the Python API to feed it arrays")
    return meta["preprocessing"]


def prepare(x: np.ndarray, pre: dict) -> np.ndarray:
    """uint8 images -> the float32 inputs the model was trained on."""
    from hubel.data.normalize import Preprocessing

    p = Preprocessing(tuple(pre["input_shape"]), pre["scale"], tuple(pre["mean"]),
                      tuple(pre["std"]), tuple(pre.get("class_names", ())),
                      pre.get("dataset", ""))
    return p(x)


def augmentations(spec: str, colour: bool) -> list:
    """The --augment kinds: 'shift,rotate,flip' or a part of it; 'default' is shift and
    rotate, plus flip for colour photographs (a mirrored 3 is no 3)."""
    from hubel.data import RandomShift
    from hubel.data.augment import RandomFlip, RandomRotation

    kinds = {"shift": lambda: RandomShift(2), "rotate": lambda: RandomRotation(8),
             "flip": RandomFlip}
    if spec == "default":
        spec = "shift,rotate,flip" if colour else "shift,rotate"
    names = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = [k for k in names if k not in kinds]
    if unknown or not names:
        raise CLIError(f"--augment: unknown kind {', '.join(unknown) or repr(spec)}; use a "
                       f"comma-separated list of {', '.join(kinds)}")
    return [kinds[k]() for k in names]


def augmented_batches(x_raw, y, pre, spec: str, batch_size: int):
    """A shuffling DataLoader that deforms each batch of raw images (pixel values) and then
    normalizes it with `pre`: what a shift or rotation brings in is black (0), as in the
    images, not the data set's mean that 0 would be after normalization."""
    from hubel.data import DataLoader
    from hubel.data.augment import Compose
    from hubel.data.normalize import as_images

    x = as_images(x_raw).astype(np.float32)
    aug = Compose([*augmentations(spec, colour=x.shape[-1] == 3), pre])
    return DataLoader(x, y, batch_size, shuffle=True, transform=aug)


# --- commands -------------------------------------------------------------------------------
def cmd_train(args) -> None:
    from hubel import callbacks, losses, optimizers, zoo
    from hubel.data.normalize import Preprocessing
    from hubel.models import load_model
    from hubel.optimizers.schedules import CosineDecay
    from hubel.random import seed

    seed(args.seed)
    if args.augment:
        augmentations(args.augment, colour=False)  # a typo fails before the data loads
    if args.threads:
        from hubel.backends.threads import set_num_threads

        set_num_threads(args.threads)
    xtr, ytr, xte, yte, names, dname = load_data(args.data, args.limit)
    pre = Preprocessing.fit(xtr, names, dname)
    xtr_f, xte_f = pre(xtr), pre(xte)
    n_val = int(len(xtr_f) * args.validation_split)
    xval, yval = xtr_f[len(xtr_f) - n_val:], ytr[len(ytr) - n_val:]
    xtr_f, ytr = xtr_f[:len(xtr_f) - n_val], ytr[:len(ytr) - n_val]
    try:
        model = zoo.get(args.model, input_shape=tuple(xtr_f.shape[1:]),
                              num_classes=len(names), softmax=False)
    except TypeError as e:
        raise CLIError(f"model {args.model!r} cannot be built for {dname}: {e}") from None
    model.metadata = {"preprocessing": pre.to_dict(), "outputs": "logits",
                      "model": args.model}
    opt = optimizers.get(args.optimizer)
    if args.lr is not None:
        opt.learning_rate = args.lr
    base_lr = opt.learning_rate
    model.compile(optimizer=opt,
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cbs = [
        callbacks.ModelCheckpoint(out / "best.safetensors", monitor="val_accuracy",
                                        save_best_only=True, include_optimizer=False),
        callbacks.ModelCheckpoint(out / "last.safetensors", save_freq="epoch"),
        callbacks.CSVLogger(out / "metrics.csv", append=args.resume),
        callbacks.TerminateOnNaN(),
    ]
    if args.lr_decay:
        cosine = CosineDecay(base_lr, args.epochs)
        cbs.append(callbacks.LearningRateScheduler(lambda epoch, lr: cosine(epoch)))
    data = xtr_f, ytr
    if args.augment:
        data = augmented_batches(xtr[:len(ytr)], ytr, pre, args.augment, args.batch_size),
    resume = out / "last.safetensors" if args.resume else None
    if resume is not None and not resume.exists():
        raise CLIError(f"--resume: {resume} does not exist (train once without --resume)")
    print(f"hubel train: {args.model} on {dname} ({len(xtr_f)} train, {len(xval)} validation, "
          f"{len(xte_f)} test images, {len(names)} classes), {args.epochs} epochs, batch "
          f"{args.batch_size}, {opt!r}", file=sys.stderr)
    start = time.perf_counter()
    model.fit(*data, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose,
              validation_data=(xval, yval) if n_val else (xte_f, yte), callbacks=cbs,
              resume_from=resume)
    wall = time.perf_counter() - start
    best = load_model(out / "best.safetensors")
    best.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(True),
                 metrics=["accuracy"])
    _, acc = best.evaluate(xte_f, yte, batch_size=500)
    result = {"model": args.model, "data": dname, "epochs": args.epochs,
              "test_accuracy": acc, "train_seconds": round(wall, 1),
              "best_model": str(out / "best.safetensors"),
              "last_model": str(out / "last.safetensors")}
    (out / "result.json").write_text(json.dumps(result, indent=2))
    print(f"test accuracy {acc:.4f} ({len(xte_f)} images) - training took {wall:.0f} s - "
          f"best model saved to {out / 'best.safetensors'}")


def _load(path: str):
    from hubel.models import load_model
    from hubel.models.saving import read_metadata

    if not Path(path).exists():
        raise CLIError(f"{path}: no such model file")
    model = load_model(path)
    model.metadata = read_metadata(path)
    return model


def _probabilities(model, x: np.ndarray) -> np.ndarray:
    out = model.predict(x, batch_size=256)
    if model.metadata.get("outputs") == "logits":
        e = np.exp(out - out.max(axis=1, keepdims=True))
        out = e / e.sum(axis=1, keepdims=True)
    return out


def cmd_evaluate(args) -> None:
    from hubel import metrics

    model = _load(args.model)
    pre = preprocessing_of(model)
    _, _, xte, yte, names, dname = load_data(args.data)
    xte, yte = xte[:args.limit], yte[:args.limit]
    p = _probabilities(model, prepare(xte, pre))
    print(f"{args.model} on the {dname} test set ({len(yte)} images)")
    print(f"accuracy       {metrics.accuracy(yte, p):.4f}")
    k = min(args.top_k, p.shape[1])
    print(f"top-{k} accuracy {metrics.top_k_accuracy(yte, p, k):.4f}")
    print("confusion matrix (rows: true class, columns: predicted)")
    cm = metrics.confusion_matrix(yte, p, len(names))
    width = max(6, len(str(cm.max())) + 1)
    for name, row in zip(names, cm):
        print(f"  {name[:14]:14}" + "".join(f"{v:{width}d}" for v in row))
    print(metrics.classification_report(yte, p, names))


def cmd_predict(args) -> None:
    from hubel.data import load_image

    model = _load(args.model)
    pre = preprocessing_of(model)
    h, w, c = pre["input_shape"]
    mode = {1: "grayscale", 3: "rgb", 4: "rgba"}[c]
    images = np.stack([load_image(path, (h, w), mode) for path in args.images])
    if pre.get("invert"):
        images = 255 - images
    p = _probabilities(model, prepare(images, pre))
    names = pre.get("class_names") or [str(i) for i in range(p.shape[1])]
    for path, probs in zip(args.images, p):
        order = np.argsort(-probs)[:args.top_k]
        best = ", ".join(f"{names[i]} {probs[i]:.3f}" for i in order)
        print(f"{path}: {best}")


def cmd_summary(args) -> None:
    from hubel import zoo

    target = args.model
    if Path(target).exists():
        model = _load(target)
    else:
        kwargs = {}
        if args.input_shape:
            kwargs["input_shape"] = tuple(int(v) for v in args.input_shape.split(","))
        if args.num_classes:
            kwargs["num_classes"] = args.num_classes
        model = zoo.get(target, **kwargs)
    model.summary()


def cmd_datasets(args) -> None:
    from hubel.data.datasets import SOURCES, find

    for name in SOURCES:
        where = find(name)
        print(f"{name:15} {where if where else 'not found (will download on first use)'}")
    for npz in sorted(Path("..", "shared", "data", "cifar10").glob("*.npz")):
        print(f"{'cifar10 (npz)':15} {npz.resolve()}")
    try:
        import sklearn  # noqa: F401

        print(f"{'digits':15} scikit-learn (installed)")
    except ImportError:
        print(f"{'digits':15} needs scikit-learn")


# --- parser ---------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    from hubel import zoo

    ap = argparse.ArgumentParser(prog="hubel", description="hubel: train and use CNNs.")
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a zoo model on a data set")
    t.add_argument("--model", default="lenet5", help=f"one of {', '.join(zoo.names())}")
    t.add_argument("--data", default="fashion-mnist",
                   help="fashion-mnist, mnist, digits, a .npz file or a folder of class folders")
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--optimizer", default="adam")
    t.add_argument("--lr", type=float, default=None, help="learning rate (optimizer default)")
    t.add_argument("--no-lr-decay", dest="lr_decay", action="store_false",
                   help="keep the learning rate constant "
                        "(default: cosine decay over the epochs)")
    t.add_argument("--augment", nargs="?", const="default", default=None, metavar="KINDS",
                   help="deform training images: comma-separated shift (±2 px), rotate "
                        "(±8°), flip (horizontal); alone: shift,rotate (+flip for colour)")
    t.add_argument("--validation-split", type=float, default=0.1)
    t.add_argument("--out", default="runs/latest", help="folder for models and metrics.csv")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.safetensors")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=None,
                   help="threads for BLAS and kernels (default: all cores)")
    t.add_argument("--limit", type=int, default=None, help="use only the first N images")
    t.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="accuracy, top-k and confusion matrix on a test set")
    e.add_argument("model")
    e.add_argument("--data", default="fashion-mnist")
    e.add_argument("--top-k", type=int, default=5)
    e.add_argument("--limit", type=int, default=None, help="only the first N test images")
    e.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("predict", help="classify image files (PNG, JPEG, BMP)")
    p.add_argument("model")
    p.add_argument("images", nargs="+")
    p.add_argument("--top-k", type=int, default=3)
    p.set_defaults(func=cmd_predict)
    s = sub.add_parser("summary", help="layer table of a model file or zoo model")
    s.add_argument("model")
    s.add_argument("--input-shape", help="e.g. 224,224,3 (zoo models)")
    s.add_argument("--num-classes", type=int)
    s.set_defaults(func=cmd_summary)
    d = sub.add_parser("datasets", help="which data sets are installed, and where")
    d.set_defaults(func=cmd_datasets)
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        print("hubel: interrupted", file=sys.stderr)
        return 130
    except (CLIError, DataError, FileNotFoundError, ValueError, KeyError, OSError) as e:
        msg = str(e).strip("'\"") or type(e).__name__
        print(f"hubel {args.command}: error: {msg}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
