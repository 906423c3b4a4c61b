"""Files a user might upload, good and hostile, made in memory from real images (scikit-learn's digits).

Shared by the core tests, the AppTest of the Datasets page and the browser test, so each bad input is
tried the same way through `core` and through the upload widget.
"""
from __future__ import annotations

import io
import zipfile

import numpy as np


def png_bytes(array: np.ndarray, fmt: str = "PNG") -> bytes:
    """`array` (H, W) or (H, W, 3) uint8 as an encoded image."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


def digit_images(n: int = 40, classes=(0, 1), size: int = 16, seed: int = 0):
    """[(class, uint8 image of `size` x `size`)]: real digits, enlarged."""
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = classes[i % len(classes)]
        index = rng.choice(np.flatnonzero(bunch.target == label))
        image = Image.fromarray((bunch.images[index] * 255 / 16).astype(np.uint8)).resize((size, size))
        out.append((label, np.asarray(image)))
    return out


def zip_bytes(entries: dict) -> bytes:
    """A zip archive of {path: bytes}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries.items():
            archive.writestr(path, data)
    return buffer.getvalue()


def labelled_png_zip(n: int = 40, top: str = "my_photos", names=("zero", "one"), size: int = 16,
                     extra: dict | None = None) -> bytes:
    """A zip of `n` PNG digits under top/<name>/, plus `extra` entries."""
    entries = {f"{top}/{names[label]}/img_{i:03d}.png": png_bytes(image)
               for i, (label, image) in enumerate(digit_images(n, classes=tuple(range(len(names))), size=size))}
    entries.update(extra or {})
    return zip_bytes(entries)


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def object_npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.array([{"a": 1}, {"b": 2}], dtype=object))  # numpy pickles object arrays
    return buffer.getvalue()


def digits_npz(n: int = 60) -> bytes:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return npz_bytes(x=(bunch.images[:n] * 255 / 16).astype(np.uint8), y=bunch.target[:n])


def csv_text(rows: list) -> bytes:
    return ("\n".join(",".join(str(v) for v in row) for row in rows) + "\n").encode()


def features_csv(n: int = 30) -> bytes:
    rng = np.random.default_rng(0)
    rows = [["a", "b", "c", "label"]]
    for i in range(n):
        centre = 5.0 * (i % 2)
        rows.append([*(np.round(centre + rng.normal(size=3), 3)), "left" if i % 2 == 0 else "right"])
    return csv_text(rows)


def bad_files() -> list:
    """(case, file name, bytes, options, words the message must contain), one per bad input of issue 11."""
    digits = digit_images(12)
    good_zip = labelled_png_zip(20)
    good_npz = digits_npz(20)
    one_column = csv_text([["a"]] + [[i] for i in range(20)])
    label_only = csv_text([["label"]] + [[i % 2] for i in range(20)])
    text_column = csv_text([["a", "b", "name"]] + [[i, i * 2, f"n{i}"] for i in range(20)])
    missing = csv_text([["a", "b"]] + [[i, "" if i == 6 else i] for i in range(20)])
    return [
        ("empty file", "photos.zip", b"", {}, "is empty"),
        ("zip that is text", "photos.zip", b"these are not the images you are looking for\n" * 20, {},
         "not a readable zip"),
        ("npz that is a PNG", "arrays.npz", png_bytes(digits[0][1]), {}, "not a readable .npz"),
        ("csv that is a zip", "table.csv", good_zip, {}, "not a text CSV"),
        ("truncated zip", "photos.zip", good_zip[: len(good_zip) // 2], {}, "not a readable zip"),
        ("truncated npz", "arrays.npz", good_npz[: len(good_npz) // 2], {}, ".npz"),
        ("npz of Python objects", "arrays.npz", object_npz_bytes(), {}, "Python objects"),
        ("pickle named npz", "arrays.npz", __import__("pickle").dumps({"x": 1}), {}, "never loaded"),
        ("x of rank 1", "arrays.npz", npz_bytes(x=np.arange(20, dtype=np.uint8)), {}, "rank 1"),
        ("x of rank 5", "arrays.npz", npz_bytes(x=np.zeros((20, 8, 8, 1, 1), np.uint8)), {}, "rank 5"),
        ("x and y of different lengths", "arrays.npz",
         npz_bytes(x=np.random.default_rng(0).random((20, 8, 8)), y=np.arange(19)), {}, "must match"),
        ("NaN values", "arrays.npz", npz_bytes(x=np.where(np.eye(8)[None].repeat(20, 0) > 0, np.nan, 0.5)), {},
         "NaN"),
        ("infinite values", "arrays.npz",
         npz_bytes(x=np.concatenate([np.full((1, 8, 8), np.inf), np.random.default_rng(0).random((19, 8, 8))])),
         {}, "infinite"),
        ("all images identical", "photos.zip",
         zip_bytes({f"img_{i}.png": png_bytes(digits[0][1]) for i in range(15)}), {}, "identical"),
        ("a single image", "photos.zip", zip_bytes({"one.png": png_bytes(digits[0][1])}), {}, "at least 10"),
        ("1x1 images", "photos.zip",
         zip_bytes({f"p{i}.png": png_bytes(np.full((1, 1), i * 10)) for i in range(15)}), {}, "smaller than 4x4"),
        ("1x1 images in an npz", "arrays.npz", npz_bytes(x=np.arange(20, dtype=np.uint8).reshape(20, 1, 1)), {},
         "cannot be clustered"),
        ("zip with no image", "photos.zip", zip_bytes({"notes.txt": b"hello", "data/readme.md": b"# hi"}), {},
         "holds no images"),
        ("entry climbing out", "photos.zip",
         zip_bytes({**{f"ok/{i}.png": png_bytes(d) for i, (_, d) in enumerate(digits)}, "../x.png": png_bytes(digits[0][1])}),
         {}, "leaves the archive"),
        ("absolute entry path", "photos.zip", zip_bytes({"/etc/x.png": png_bytes(digits[0][1])}), {},
         "leaves the archive"),
        ("csv with text in a feature column", "table.csv", text_column, {}, "holds text"),
        ("csv with missing values", "table.csv", missing, {}, "missing"),
        ("csv with one column", "table.csv", one_column, {}, "one feature column"),
        ("csv with a label column only", "table.csv", label_only, {"label_column": "label"}, "only the label column"),
        ("unsupported type", "photos.tar", b"x" * 100, {}, "cannot be read"),
    ]


def zip_bomb(expanded_mb: int) -> bytes:
    """A zip of one PNG-named entry that expands to `expanded_mb` megabytes of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("bomb/zeros.png", "w", force_zip64=True) as entry:
            chunk = bytes(2 ** 20)
            for _ in range(expanded_mb):
                entry.write(chunk)
    return buffer.getvalue()
