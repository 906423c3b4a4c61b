"""Reading a user's own data: a zip or folder of images, an ``.npz`` of arrays, a CSV or parquet table.

Everything here treats the file as hostile. Nothing is extracted to disk, nothing is unpickled
(``allow_pickle=False``), archive entries whose path leaves the archive are refused, and what a file
would cost is measured from what it declares before it is paid: an archive's expanded size and each image
entry's size and compression ratio, the number of images and their pixels in all (from their headers), an
.npz's array shapes, a CSV's header line, a parquet file's metadata. Every problem is an
:class:`InvalidUpload` whose message names the file, what is wrong and what is allowed.

The result is an :class:`ImportedData`: the samples, optional labels with their names, each sample's
original file name, and what was skipped and why, ready for a preview and for the dataset library.
"""
from __future__ import annotations

import io
import math
import os
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterable, Optional, Sequence, Union

import numpy as np

from core.data.arrays import UnreadableArrays, npz_headers

# Limits, stated in docs/own-data.md. The server's own upload limit is `server.maxUploadSize` in
# .streamlit/config.toml (the same number of megabytes as MAX_FILE_MB).
MAX_FILE_MB = 200              # size of one uploaded or added file
MAX_EXPANDED_MB = 1024         # total size of an archive's contents once expanded (zip bombs)
MAX_SAMPLES = 70_000           # images or table rows in one dataset (MNIST's size)
MIN_SAMPLES = 10               # fewer cannot be clustered meaningfully
MAX_FEATURES = 8192            # columns of a table, or pixels x channels of an image after resizing
MAX_SIDE = 128                 # largest height or width a user can resize images to
DEFAULT_MAX_SIDE = 64          # the default size is the most common one, capped at this
MIN_SIDE = 4                   # smaller images carry too little to cluster
MAX_IMAGE_PIXELS = 40_000_000  # one image's pixels before decoding (decompression bombs)
MAX_UPLOAD_PIXELS = 2_000_000_000  # all images' pixels in one upload, from their headers (~5-30 ns each to
                                   # decode: about a minute); MAX_SAMPLES images of 200x200 still fit
MAX_ENTRY_MB = 256             # one image entry of an archive once expanded (40 MP x 4 bytes, as BMP, is 153 MB)
MAX_COMPRESSION_RATIO = 500    # an entry's expansion (image files barely compress; zeros reach deflate's 1032)
RATIO_CHECKED_FROM_MB = 16     # entries expanding to less are never skipped for their ratio (small blank BMPs)
MAX_LABEL_LENGTH = 200         # characters of one label (a class name shown in legends and tables)

GRAY_MODES = {"1", "L", "LA", "F"}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
IMAGE_FORMATS = {"PNG", "JPEG", "MPO", "BMP", "GIF", "WEBP"}  # what Pillow may decode (MPO: camera JPEGs)
UPLOAD_TYPES = ("zip", "npz", "csv", "parquet")
X_KEYS = ("x", "X", "images", "data", "arr_0")
Y_KEYS = ("y", "Y", "labels", "targets", "arr_1")
LABEL_COLUMN_GUESSES = ("label", "labels", "class", "target", "y", "category")

Source = Union[str, os.PathLike, bytes, BinaryIO]


class InvalidUpload(ValueError):
    """A file or a name the user gave cannot be used; the message says why in the user's words."""


@dataclass
class ImportedData:
    """What was read from one file, before it is saved to the library.

    Attributes
    ----------
    kind : "images" or "features"
    x : ndarray
        Images as (n, height, width, channels), uint8 or float32 in [0, 1]; features as (n, n_features)
        float32, as given.
    labels : ndarray of int64 codes, or None when the data is unlabelled
    class_names : list of str (the label of code i is class_names[i]), or None
    file_names : list of str, one per sample (a zip entry's path, "row 3" for a table)
    feature_names : list of str for tables, else None
    skipped : list of (file name, reason) for entries left out
    notes : list of sentences about what was done to the data (scaled, resized, labels ignored)
    source : the uploaded file's name
    """

    kind: str
    x: np.ndarray
    labels: Optional[np.ndarray]
    class_names: Optional[list]
    file_names: list
    feature_names: Optional[list] = None
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    source: str = ""

    @property
    def n_samples(self) -> int:
        return len(self.x)

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.x.shape[1:])

    def images01(self, count: Optional[int] = None) -> np.ndarray:
        """The first `count` images (all by default) as float32 in [0, 1], for galleries and training."""
        x = self.x if count is None else self.x[:count]
        return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)

    def label_counts(self) -> dict:
        """{label name: count}, in label order; empty when unlabelled."""
        if self.labels is None:
            return {}
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts)}

    def value_range(self) -> tuple:
        return float(np.min(self.x)), float(np.max(self.x))


def skipped_summary(skipped: Sequence[tuple], shown: int = 5) -> list:
    """One sentence per reason: "3 files were not images: a.txt, b.doc, c.csv."."""
    by_reason: dict = {}
    for name, reason in skipped:
        by_reason.setdefault(reason, []).append(name)
    lines = []
    for reason, names in by_reason.items():
        listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
        subject = "1 file was" if len(names) == 1 else f"{len(names):,} files were"
        lines.append(f"{subject} {reason}: {listed}.")
    return lines


# -- entry point -------------------------------------------------------------------------------------

def read_upload(source: Source, name: Optional[str] = None, *, size: Optional[tuple] = None,
                grayscale: bool = False, label_column: Optional[str] = None, as_dataset: bool = True) -> ImportedData:
    """Read one uploaded file (or, on the command line, a file or a folder of images).

    Parameters
    ----------
    source : path, bytes or binary file object
    name : str, optional
        The file's name as the user gave it (its extension picks the reader); defaults to the path's name.
    size : (height, width), optional
        Images of a zip or folder are resized to this (aspect kept, padded); default: the most common
        size, capped at 64x64.
    grayscale : bool
        Convert images to one channel (colour is kept by default).
    label_column : str, optional
        A table's column holding the labels; None for an unlabelled table.
    as_dataset : bool
        Data to save as a dataset must have at least MIN_SAMPLES samples that are not all identical;
        False for new images to place in a finished run (one is enough).

    Raises
    ------
    InvalidUpload
        For anything that cannot be read, with the file's name and what is allowed.
    """
    if name is None:
        if isinstance(source, (bytes, bytearray)) or hasattr(source, "read"):
            name = getattr(source, "name", None) or "upload"
        else:
            name = Path(source).name
    result = _read(source, name, size=size, grayscale=grayscale, label_column=label_column)
    if as_dataset:
        check_samples(result)
    return result


def _read(source: Source, name: str, *, size, grayscale, label_column) -> ImportedData:
    if not isinstance(source, (bytes, bytearray)) and not hasattr(source, "read") and Path(source).is_dir():
        return read_image_folder(Path(source), size=size, grayscale=grayscale)
    extension = PurePosixPath(str(name)).suffix.lower().lstrip(".")
    if extension not in UPLOAD_TYPES:
        raise InvalidUpload(f"{name}: files of type .{extension or '(none)'} cannot be read; "
                            f"upload a .zip of images, an .npz, a .csv or a .parquet file.")
    data = _read_bytes(source, name)
    if extension == "zip":
        return read_image_zip(data, name, size=size, grayscale=grayscale)
    if extension == "npz":
        return read_npz(data, name)
    return read_table(data, name, label_column=label_column)


def _read_bytes(source: Source, name: str) -> bytes:
    limit = MAX_FILE_MB * 2 ** 20
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(limit + 1)
    else:
        path = Path(source)
        if not path.is_file():
            raise InvalidUpload(f"{name}: no such file.")
        if path.stat().st_size > limit:
            raise InvalidUpload(f"{name} is {path.stat().st_size / 2 ** 20:,.0f} MB; the limit is {MAX_FILE_MB} MB.")
        data = path.read_bytes()
    if len(data) > limit:
        raise InvalidUpload(f"{name} is larger than the limit of {MAX_FILE_MB} MB.")
    if not data:
        raise InvalidUpload(f"{name} is empty.")
    return data


# -- images from a zip or a folder ------------------------------------------------------------------

def read_image_zip(data: bytes, name: str, *, size=None, grayscale=False) -> ImportedData:
    """Images of a zip archive, labelled by their first folder below one common top folder."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as error:
        raise InvalidUpload(f"{name} is not a readable zip archive (it may be truncated or of another type): "
                            f"{error}.") from None
    for info in infos:
        _check_entry_path(info.filename, name)
    total = sum(info.file_size for info in infos)
    if total > MAX_EXPANDED_MB * 2 ** 20:
        raise InvalidUpload(f"{name} would expand to {total / 2 ** 20:,.0f} MB; the limit is {MAX_EXPANDED_MB:,} MB "
                            f"(an archive this compressed may be a zip bomb).")

    def read(info):
        _check_entry(info)
        try:
            with archive.open(info) as member:  # read(n), not read(): a whole read inflates all it is given
                return member.read(info.file_size)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as error:
            raise _EntryError(f"a damaged archive entry ({error})") from None

    entries = [(info.filename, info) for info in infos]
    return _read_images(entries, read, name, size=size, grayscale=grayscale)


def _check_entry(info: zipfile.ZipInfo) -> None:
    """Skip, before it is expanded, an entry larger than any image file, compressed like a zip bomb, or
    compressed in a way that cannot be read a bounded piece at a time (zipfile inflates bzip2 and LZMA whole)."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _EntryError("compressed with bzip2 or LZMA (zip them with ordinary compression)")
    if info.file_size > MAX_ENTRY_MB * 2 ** 20:
        raise _EntryError(f"larger than any image once expanded (over {MAX_ENTRY_MB} MB)")
    if info.file_size > max(RATIO_CHECKED_FROM_MB * 2 ** 20, MAX_COMPRESSION_RATIO * info.compress_size):
        raise _EntryError(f"compressed like a zip bomb (over {MAX_COMPRESSION_RATIO} to 1)")


def read_image_folder(folder: Path, *, size=None, grayscale=False) -> ImportedData:
    """Images under `folder` (not following links), labelled by their first sub-folder."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    limit = MAX_EXPANDED_MB * 2 ** 20
    if sum(p.stat().st_size for p in files) > limit:
        raise InvalidUpload(f"{folder.name}: the folder holds more than {MAX_EXPANDED_MB:,} MB of files.")
    entries = [(p.relative_to(folder).as_posix(), p) for p in files]
    return _read_images(entries, lambda p: p.read_bytes(), folder.name, size=size, grayscale=grayscale)


class _EntryError(Exception):
    """One entry could not be read; it is skipped with this reason."""


def _check_entry_path(entry: str, archive_name: str) -> None:
    path = entry.replace("\\", "/")
    parts = PurePosixPath(path).parts
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or ".." in parts:
        raise InvalidUpload(f"{archive_name} holds an entry whose path leaves the archive ({entry!r}); "
                            f"archives with absolute paths or '..' in a path are refused.")


def _is_system_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return any(part.startswith(".") or part == "__MACOSX" for part in parts) or parts[-1].lower() == "thumbs.db"


def _read_images(entries, read, name, *, size, grayscale) -> ImportedData:
    """Decode, label, size-check and resize images given as (path, handle) pairs."""
    candidates, skipped = _image_entries(entries, name)
    probed, all_gray = _probe(candidates, read, skipped, name)
    sizes = Counter(shape for _, _, shape in probed)
    height, width = _check_size(size if size is not None else default_image_size(sizes.elements()))
    labels, class_names, label_note = _folder_labels([path for path, _, _ in probed])
    notes = [label_note] if label_note else []
    x, kept = _decode(probed, labels, read, (height, width), 1 if grayscale or all_gray else 3, skipped, name)
    y = None
    if class_names is not None:
        y = np.asarray([label for _, label in kept], dtype=np.int64)
        class_names, y = _compact_labels(class_names, y)
    if len(sizes) > 1 or next(iter(sizes)) != (height, width):
        notes.append(f"Images were resized to {height}x{width} pixels (aspect ratio kept, padded with the "
                     f"border colour); the most common size was {_size_text(sizes.most_common(1)[0][0])}.")
    return ImportedData("images", x, y, class_names, [path for path, _ in kept], skipped=skipped, notes=notes,
                        source=name)


def _image_entries(entries, name):
    """The (path, handle) pairs that are images, in path order, and (path, why) for the files skipped;
    archive clutter (__MACOSX/, .DS_Store, Thumbs.db) is left out silently. InvalidUpload when none is
    an image, or too many are."""
    skipped, candidates = [], []
    for path, handle in sorted(entries, key=lambda e: e[0]):
        if _is_system_file(path):
            continue
        if PurePosixPath(path).suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append((path, "not images"))
        else:
            candidates.append((path, handle))
    if not candidates:
        found = f" (it holds {len(skipped):,} other files)" if skipped else ""
        raise InvalidUpload(f"{name} holds no images{found}; images must be "
                            f"{', '.join(sorted(e.lstrip('.').upper() for e in IMAGE_EXTENSIONS))}.")
    if len(candidates) > MAX_SAMPLES:
        raise InvalidUpload(f"{name} holds {len(candidates):,} images; the limit is {MAX_SAMPLES:,} per dataset.")
    return candidates, skipped


def _probe(candidates, read, skipped: list, name):
    """Pass 1 reads headers only, nothing kept decoded: (path, handle, (height, width)) of each readable
    image, and whether every one stores gray pixels (then they decode to one channel, a third of the
    memory). Unreadable files are added to `skipped`; more pixels in all than MAX_UPLOAD_PIXELS is
    InvalidUpload as soon as the headers read so far show it, before any image is decoded."""
    probed, all_gray, pixels = [], True, 0
    for path, handle in candidates:
        try:
            with _open_image(read(handle)) as image:
                probed.append((path, handle, image.size[::-1]))
                all_gray = all_gray and (image.mode in GRAY_MODES or image.mode.startswith("I"))
                pixels += image.width * image.height
        except _EntryError as error:
            skipped.append((path, str(error)))
        if pixels > MAX_UPLOAD_PIXELS:
            side = min(1024, math.isqrt(MAX_UPLOAD_PIXELS // len(candidates)))
            raise InvalidUpload(f"{name}: its first {len(probed):,} images already hold {pixels / 1e9:,.1f} billion "
                                f"pixels, more than the {MAX_UPLOAD_PIXELS / 1e9:g} billion one upload may decode; "
                                f"resize its {len(candidates):,} images to at most {side:,} pixels a side before "
                                f"zipping them.")
    if not probed:
        raise InvalidUpload(f"{name}: none of its images could be used. {' '.join(skipped_summary(skipped))}")
    return probed, all_gray


def _decode(probed, labels, read, shape, channels: int, skipped: list, name):
    """Pass 2 decodes each image into one array filled in place (no list of copies), resized to `shape`:
    the images as uint8 (N, height, width, channels) (one channel when all are gray), and the (path,
    label) of each kept. Files whose pixels cannot be decoded are added to `skipped`."""
    x = np.empty((len(probed), *shape, channels), dtype=np.uint8)
    kept = []
    for (path, handle, _), label in zip(probed, labels):
        try:
            with _open_image(read(handle)) as image:
                x[len(kept)] = _to_array(image, shape, channels == 1)
        except _EntryError as error:
            skipped.append((path, str(error)))
            continue
        except Exception:  # a truncated or corrupt body only shows when the pixels are decoded
            skipped.append((path, "damaged images"))
            continue
        kept.append((path, label))
    if not kept:
        raise InvalidUpload(f"{name}: none of its images could be decoded. {' '.join(skipped_summary(skipped))}")
    x = x[:len(kept)]
    if x.shape[-1] == 3 and _is_gray(x):
        x = np.ascontiguousarray(x[..., :1])  # every image is gray: keep one channel
    return x, kept


def _open_image(data: bytes):
    """A Pillow image of one file's bytes (header read only), or _EntryError saying why it is skipped."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise _EntryError(f"larger than {MAX_IMAGE_PIXELS // 1_000_000} megapixels") from None
    except Exception:  # Pillow raises many types for a file that is not what its extension says
        raise _EntryError("not readable images") from None
    if image.format not in IMAGE_FORMATS:
        image.close()
        raise _EntryError("not readable images")
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise _EntryError(f"larger than {MAX_IMAGE_PIXELS // 1_000_000} megapixels")
    if min(width, height) < MIN_SIDE:
        image.close()
        raise _EntryError(f"smaller than {MIN_SIDE}x{MIN_SIDE} pixels")
    return image


def default_image_size(sizes: Iterable[tuple]) -> tuple:
    """The most common (height, width), scaled down so neither side exceeds 64 (aspect kept)."""
    (height, width), _ = Counter(sizes).most_common(1)[0]
    scale = min(1.0, DEFAULT_MAX_SIDE / max(height, width))
    return max(MIN_SIDE, round(height * scale)), max(MIN_SIDE, round(width * scale))


def _size_text(size) -> str:
    return f"{size[0]}x{size[1]}"


def _check_size(size) -> tuple:
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InvalidUpload(f"the image size must be two whole numbers (height, width); got {size!r}.") from None
    if not (MIN_SIDE <= height <= MAX_SIDE and MIN_SIDE <= width <= MAX_SIDE):
        raise InvalidUpload(f"the image size must be between {MIN_SIDE} and {MAX_SIDE} pixels a side; "
                            f"got {height}x{width}.")
    return height, width


def _folder_labels(paths: list):
    """(labels, class names, note): labels from the first folder below one common top folder."""
    parts = [PurePosixPath(p.replace("\\", "/")).parts for p in paths]
    if all(len(p) > 1 for p in parts) and len({p[0] for p in parts}) == 1:
        parts = [p[1:] for p in parts]  # one common top folder: strip it
    folders = [p[0] if len(p) > 1 else None for p in parts]
    if all(f is None for f in folders):
        return [None] * len(paths), None, ""
    if any(f is None for f in folders):
        loose = sum(f is None for f in folders)
        return [None] * len(paths), None, (
            f"{loose:,} images are not in a sub-folder, so the dataset is unlabelled (labels come from "
            f"sub-folders only when every image is in one).")
    class_names = sorted(set(folders))
    codes = {c: i for i, c in enumerate(class_names)}
    return [codes[f] for f in folders], class_names, ""


def _compact_labels(class_names, y):
    """Drop class names no kept image has (all of a folder's images may have been skipped)."""
    present = np.unique(y)
    remap = np.full(len(class_names), -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    return [class_names[i] for i in present], remap[y]


def _to_array(image, size: tuple, grayscale: bool) -> np.ndarray:
    """A PIL image as uint8 (height, width, 3) or (height, width, 1): fitted inside `size`, padded."""
    from PIL import Image, ImageOps

    image.seek(0)  # GIF / WebP: the first frame
    if image.mode.startswith("I") or image.mode == "F":  # 16- and 32-bit grayscale: to 8 bits, not clipped
        values = np.asarray(image, dtype=np.float64)
        top = 1.0 if image.mode == "F" and values.max() <= 1.0 else (65535.0 if values.max() > 255 else 255.0)
        image = Image.fromarray(np.clip(values / top * 255.0, 0, 255).round().astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    image = image.convert("L" if grayscale else "RGB")
    height, width = size
    fitted = ImageOps.contain(image, (width, height), Image.Resampling.LANCZOS)
    if fitted.size != (width, height):
        canvas = Image.new(fitted.mode, (width, height), _border_colour(fitted))
        canvas.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
        fitted = canvas
    array = np.asarray(fitted, dtype=np.uint8)
    return array[..., np.newaxis] if array.ndim == 2 else array


def _border_colour(image):
    array = np.asarray(image)
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    colour = np.median(border, axis=0).astype(int)
    return int(colour) if np.ndim(colour) == 0 else tuple(int(c) for c in colour)


def _is_gray(array: np.ndarray) -> bool:
    return bool(np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 1], array[..., 2]))


# -- arrays from an npz -----------------------------------------------------------------------------

def read_npz(data: bytes, name: str) -> ImportedData:
    """An image array `x` (N x H x W or N x H x W x C; N x F is read as features) and optional labels `y`."""
    if data.startswith(b"\x93NUMPY"):
        raise InvalidUpload(f"{name} is a single .npy array, not an .npz archive; save it with "
                            f"numpy.savez(file, x=images, y=labels).")
    if data[:1] == b"\x80":
        raise InvalidUpload(f"{name} is not an .npz archive: it looks like a Python pickle, which is never "
                            f"loaded (it could run code).")
    if not data.startswith(b"PK"):
        raise InvalidUpload(f"{name} is not a readable .npz archive (an .npz is a zip of arrays; this file "
                            f"is of another type).")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as members:
            expanded = sum(info.file_size for info in members.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as error:
        raise InvalidUpload(f"{name} is not a readable .npz archive (it may be truncated): {error}.") from None
    if expanded > MAX_EXPANDED_MB * 2 ** 20:
        raise InvalidUpload(f"{name} would expand to {expanded / 2 ** 20:,.0f} MB of arrays; the limit is "
                            f"{MAX_EXPANDED_MB:,} MB.")
    try:
        headers = npz_headers(data, text=True)
    except UnreadableArrays as error:
        raise InvalidUpload(f"{name}: {error}; save plain arrays with numpy.savez(file, x=images, y=labels).") \
            from None
    keys = list(headers)
    x_key = next((k for k in X_KEYS if k in keys), None)
    if x_key is None:
        raise InvalidUpload(f"{name} has no array named 'x' (it holds: {', '.join(keys) or 'nothing'}); "
                            f"save the images as x and optional labels as y.")
    y_key = next((k for k in Y_KEYS if k in keys and k != x_key), None)
    kind = _check_x_header(headers[x_key], name)  # shapes and types from the headers, before any array is read
    if y_key:
        _check_y_header(headers[y_key], headers[x_key].shape[0], name)
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as error:
        raise InvalidUpload(f"{name} is not a readable .npz archive (it may be truncated): {error}.") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise InvalidUpload(f"{name} is not an .npz archive.")
    with archive:
        x = _npz_array(archive, x_key, name)
        y = _npz_array(archive, y_key, name) if y_key else None
    notes = [f"Arrays ignored: {', '.join(k for k in keys if k not in (x_key, y_key))}."] \
        if len(keys) > 1 + (y_key is not None) else []
    x = _check_x(x, kind, name, notes)
    labels, class_names = (None, None) if y is None else encode_labels(y.reshape(-1), name, "'y'")
    n = len(x)
    file_names = [f"{x_key}[{i}]" for i in range(n)] if kind == "images" else [f"row {i + 1}" for i in range(n)]
    feature_names = [f"feature {j + 1}" for j in range(x.shape[1])] if kind == "features" else None
    result = ImportedData(kind, x, labels, class_names, file_names, feature_names, notes=notes, source=name)
    return result


def _npz_array(archive, key: str, name: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as error:
        if "allow_pickle" in str(error) or "Object arrays" in str(error):
            raise InvalidUpload(f"{name}: array '{key}' holds Python objects, which are never loaded (they "
                                f"could run code); save plain numeric arrays.") from None
        raise InvalidUpload(f"{name}: array '{key}' cannot be read: {error}.") from None
    except Exception as error:
        raise InvalidUpload(f"{name}: array '{key}' cannot be read (the file may be truncated): {error}.") from None


def _check_x_header(header, name: str) -> str:
    """"images" or "features" from the shape and type `x` declares; InvalidUpload for one that cannot be used."""
    shape, dtype = header.shape, header.dtype
    if dtype.kind not in "biuf":
        raise InvalidUpload(f"{name}: 'x' must hold numbers (uint8 or float); it holds {dtype}.")
    if len(shape) not in (2, 3, 4):
        raise InvalidUpload(f"{name}: 'x' has shape {shape} (rank {len(shape)}); images must be N x H x W or "
                            f"N x H x W x C, feature vectors N x F.")
    if shape[0] > MAX_SAMPLES:
        raise InvalidUpload(f"{name}: 'x' holds {shape[0]:,} samples; the limit is {MAX_SAMPLES:,} per dataset.")
    kind = "features" if len(shape) == 2 else "images"
    if kind == "images":
        if len(shape) == 4 and shape[-1] not in (1, 3, 4):
            raise InvalidUpload(f"{name}: 'x' has {shape[-1]} channels; images need 1 (grayscale), "
                                f"3 (RGB) or 4 (RGBA).")
        if min(shape[1:3]) < MIN_SIDE or max(shape[1:3]) > MAX_SIDE * 4:
            raise InvalidUpload(f"{name}: images of {shape[1]}x{shape[2]} pixels cannot be clustered; "
                                f"each side must be {MIN_SIDE} to {MAX_SIDE * 4} pixels.")
    values = math.prod(shape[1:])
    if values > MAX_FEATURES * 16 or (kind == "features" and shape[1] > MAX_FEATURES):
        raise InvalidUpload(f"{name}: each sample has {values:,} values; too many to cluster here.")
    return kind


def _check_y_header(header, n: int, name: str) -> None:
    shape = header.shape
    if not (len(shape) == 1 or len(shape) == 2 and shape[1] == 1):
        raise InvalidUpload(f"{name}: 'y' must be one label per sample (shape (N,)); it has shape {shape}.")
    if shape[0] != n:
        raise InvalidUpload(f"{name}: 'x' has {n:,} samples but 'y' has {shape[0]:,} labels; they must match.")
    if header.dtype.kind in "US":
        _check_label_length(header.dtype.itemsize // (4 if header.dtype.kind == "U" else 1), name, "'y'")


def _check_x(x: np.ndarray, kind: str, name: str, notes: list) -> np.ndarray:
    """`x` (its shape already checked) as float32 features, or images as uint8 or float32 in [0, 1]."""
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if kind == "images" and x.shape[-1] == 4:
        x = x[..., :3]
        notes.append("The alpha channel was dropped.")
    if x.dtype.kind == "f":
        finite = np.isfinite(x).reshape(len(x), -1).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise InvalidUpload(f"{name}: {len(bad):,} sample{'s' if len(bad) > 1 else ''} of 'x' "
                                f"hold{'' if len(bad) > 1 else 's'} NaN or infinite values (the first is "
                                f"sample {bad[0]}); remove or fill them.")
    if kind == "features":
        return x.astype(np.float32)
    if x.dtype == np.uint8:
        return x
    low, high = float(x.min()), float(x.max())
    x = x.astype(np.float32)
    if low >= 0 and high <= 1:
        return x
    if low >= 0 and high <= 255:
        notes.append(f"Values in [{low:g}, {high:g}] were read as 0-255 and scaled to [0, 1].")
        return x / 255.0
    notes.append(f"Values in [{low:.3g}, {high:.3g}] were scaled to [0, 1].")
    return (x - low) / (high - low) if high > low else np.zeros_like(x)


def encode_labels(values, name: str, what: str) -> tuple:
    """(int64 codes, class names) of numeric or text labels; refuses missing and non-integer values, and
    labels longer than MAX_LABEL_LENGTH characters (measured before a fixed-width array is made of them)."""
    texts = values.tolist() if isinstance(values, np.ndarray) and values.dtype == object else values
    if not isinstance(texts, np.ndarray):
        longest = max((len(v) for v in texts if isinstance(v, (str, bytes))), default=0)
    else:
        longest = texts.dtype.itemsize // (4 if texts.dtype.kind == "U" else 1) if texts.dtype.kind in "US" else 0
    _check_label_length(longest, name, what)
    values = np.asarray(values)
    if values.dtype == object:  # text cells (a table's column), once their length is known to be bounded
        values = values.astype(str)
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise InvalidUpload(f"{name}: {what} has {int((~np.isfinite(values)).sum()):,} missing or infinite "
                                f"labels; every sample needs one.")
        if not np.all(values == np.round(values)):
            raise InvalidUpload(f"{name}: {what} holds fractional numbers; labels must be whole numbers or text.")
        values = values.astype(np.int64)
    elif values.dtype.kind not in "biuUS":
        raise InvalidUpload(f"{name}: {what} must hold whole numbers or text; it holds {values.dtype}.")
    classes, codes = np.unique(values, return_inverse=True)
    names = [c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c) for c in classes.tolist()]
    return codes.astype(np.int64).ravel(), names


def _check_label_length(longest: int, name: str, what: str) -> None:
    if longest > MAX_LABEL_LENGTH:
        raise InvalidUpload(f"{name}: {what} holds a label of {longest:,} characters; a label may have at most "
                            f"{MAX_LABEL_LENGTH}.")


# -- tables -----------------------------------------------------------------------------------------

def read_table(data: bytes, name: str, *, label_column: Optional[str] = None) -> ImportedData:
    """Numeric features from a CSV or parquet table, one row per sample, with an optional label column."""
    frame = load_table(data, name)
    if label_column is not None and label_column not in frame.columns:
        raise InvalidUpload(f"{name} has no column {label_column!r}; its columns are "
                            f"{_columns_text(frame.columns)}.")
    features = frame.drop(columns=[label_column]) if label_column is not None else frame
    if features.shape[1] == 0:
        raise InvalidUpload(f"{name} has only the label column; at least two numeric feature columns are needed.")
    if features.shape[1] < 2:
        raise InvalidUpload(f"{name} has one feature column ({_columns_text(features.columns)}); at least two "
                            f"are needed to cluster.")
    if features.shape[1] > MAX_FEATURES:
        raise InvalidUpload(f"{name} has {features.shape[1]:,} feature columns; the limit is {MAX_FEATURES:,}.")
    _check_numeric(features, name)
    missing = features.isna().sum()
    if missing.any():
        column = missing[missing > 0].index[0]
        row = int(np.flatnonzero(features[column].isna().to_numpy())[0]) + 1
        raise InvalidUpload(f"{name}: {int(missing.sum()):,} values are missing (column {str(column)!r} first, in "
                            f"data row {row}); fill or remove them, every feature needs a value.")
    x = features.to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        column = features.columns[np.flatnonzero(~np.isfinite(x).all(axis=0))[0]]
        raise InvalidUpload(f"{name}: column {str(column)!r} holds infinite values; every feature must be finite.")
    labels = class_names = None
    if label_column is not None:
        column = frame[label_column]
        if column.isna().any():
            raise InvalidUpload(f"{name}: the label column {label_column!r} has {int(column.isna().sum()):,} "
                                f"empty cells; every row needs a label (or choose no label column).")
        labels, class_names = encode_labels(column.to_numpy(), name, f"the label column {label_column!r}")
    result = ImportedData("features", x.astype(np.float32), labels, class_names,
                          [f"row {i + 1}" for i in range(len(x))], [str(c) for c in features.columns], source=name)
    return result


def load_table(data: bytes, name: str):
    """The table as a DataFrame (no type guessing beyond numbers and text), or InvalidUpload."""
    import pandas as pd

    extension = PurePosixPath(name).suffix.lower()
    try:
        if extension == ".parquet":
            _check_parquet_metadata(data, name)
            frame = pd.read_parquet(io.BytesIO(data))
        else:
            if b"\x00" in data[:65536]:
                raise InvalidUpload(f"{name} is not a text CSV file (it holds binary data).")
            separator = _csv_separator(data, name)
            frame = pd.read_csv(io.BytesIO(data), sep=separator, encoding="utf-8-sig", nrows=MAX_SAMPLES + 1)
    except InvalidUpload:
        raise
    except UnicodeDecodeError:
        raise InvalidUpload(f"{name} is not a UTF-8 text CSV file.") from None
    except Exception as error:
        kind = "parquet" if extension == ".parquet" else "CSV"
        raise InvalidUpload(f"{name} is not a readable {kind} table: {str(error).strip() or type(error).__name__}.") \
            from None
    if len(frame) > MAX_SAMPLES:  # a CSV is read no further than one row past the limit
        raise InvalidUpload(f"{name} has more than {MAX_SAMPLES:,} rows; the limit is {MAX_SAMPLES:,} per dataset.")
    if frame.shape[1] == 0 or len(frame) == 0:
        raise InvalidUpload(f"{name} holds no data rows.")
    frame.columns = [str(c) for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        raise InvalidUpload(f"{name} has columns with the same name; column names must be unique.")
    return frame


def _csv_separator(data: bytes, name: str) -> str:
    """The separator of the header line, after counting its columns without copying or parsing the table."""
    end = data.find(b"\n")
    end = len(data) if end < 0 else end
    separator = next((s for s in (",", ";", "\t") if data.find(s.encode(), 0, end) >= 0), ",")
    if data.find(b'"', 0, end) >= 0:  # quoted names may hold the separator: count outside the quotes
        columns = re.sub(rb'"[^"]*"', b"", data[:end]).count(separator.encode()) + 1
    else:
        columns = data.count(separator.encode(), 0, end) + 1
    _check_columns(columns, name)
    return separator


def _check_parquet_metadata(data: bytes, name: str) -> None:
    """Rows and columns as a parquet file's metadata declares them, before a row is read."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(io.BytesIO(data))
    metadata = parquet.metadata
    rows = max(metadata.num_rows, sum(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)))
    if rows > MAX_SAMPLES:
        raise InvalidUpload(f"{name} has {rows:,} rows; the limit is {MAX_SAMPLES:,} per dataset.")
    index = (parquet.schema_arrow.pandas_metadata or {}).get("index_columns", [])
    _check_columns(metadata.num_columns - sum(isinstance(c, str) for c in index), name)  # a saved index is no column


def _check_columns(columns: int, name: str) -> None:
    if columns > MAX_FEATURES + 1:
        raise InvalidUpload(f"{name} has {columns:,} columns; the limit is {MAX_FEATURES:,} feature columns and a "
                            f"label column (reduce the features first, for example with PCA).")


def guess_label_column(frame) -> Optional[str]:
    """A column that looks like labels: named like one, or the only text column."""
    for column in frame.columns:
        if str(column).strip().lower() in LABEL_COLUMN_GUESSES:
            return column
    text = [c for c in frame.columns if not _is_numeric(frame[c])]
    return text[0] if len(text) == 1 else None


def _is_numeric(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series)


def _check_numeric(features, name: str) -> None:
    text = [c for c in features.columns if not _is_numeric(features[c])]
    if text:
        column = text[0]
        values = features[column].dropna()
        example = f' ("{str(values.iloc[0])[:20]}")' if len(values) else ""
        raise InvalidUpload(f"{name}: column {str(column)!r} holds text{example}; feature columns must be numeric "
                            f"(choose it as the label column, or remove it)."
                            + (f" Other text columns: {_columns_text(text[1:])}." if len(text) > 1 else ""))


def _columns_text(columns, shown: int = 8) -> str:
    columns = [str(c) for c in columns]
    return ", ".join(repr(c) for c in columns[:shown]) + (f" and {len(columns) - shown} more" if len(columns) > shown else "")


# -- checks on any result ---------------------------------------------------------------------------

def check_samples(data: ImportedData) -> None:
    """Refuse data with too few samples or nothing to tell apart."""
    what = "images" if data.kind == "images" else "rows"
    if data.n_samples < MIN_SAMPLES:
        what = what if data.n_samples != 1 else what[:-1]
        raise InvalidUpload(f"{data.source} has {data.n_samples} {what}; at least {MIN_SAMPLES} are needed to "
                            f"cluster.")
    flat = data.x.reshape(data.n_samples, -1)
    if np.all(flat == flat[0]):
        raise InvalidUpload(f"{data.source}: all {data.n_samples:,} {what} are identical; there is nothing "
                            f"to cluster.")
