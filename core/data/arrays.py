"""What an .npz archive holds, read from its members' headers before any array is: name, shape, dtype and
size. An .npz is a zip of .npy files, and each .npy starts with a short header declaring its shape and dtype;
reading only that header costs a few hundred bytes whatever the array would expand to. Every .npz this app
reads from outside (an upload, an imported run) is measured this way first, so that a few compressed
kilobytes declaring gigabytes are refused before they are expanded."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from os import PathLike
from typing import Union

import numpy as np

MAX_HEADER_BYTES = 65_536   # a real .npy header is about 128 bytes; NumPy itself stops at 10,000 by default


class UnreadableArrays(ValueError):
    """The .npz is damaged, holds something other than plain arrays, or lies about its sizes; says which."""


@dataclass(frozen=True)
class ArrayHeader:
    """One member of an .npz as its header declares it."""

    name: str
    shape: tuple
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.float64)) * self.dtype.itemsize

    @property
    def is_numeric(self) -> bool:
        """Plain numbers (bool, integers, floats): no objects, text, structures or pointers."""
        return self.dtype.kind in "biuf" and self.dtype.fields is None and not self.dtype.hasobject


def npz_headers(source: Union[bytes, str, PathLike], *, text: bool = False) -> dict[str, ArrayHeader]:
    """{array name: its header} of the .npz `source` (its bytes or its path), reading no array.

    `text` also accepts fixed-width text arrays (a user's labels: NumPy's "U" and "S" kinds hold no objects).

    Raises UnreadableArrays when the file is not a zip of .npy files, a header cannot be read, or a member's
    size in the zip differs from what its header declares (a member that expands further than its header says
    is how a small file would fill the memory while "one small array" is read).
    """
    handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with zipfile.ZipFile(handle) as archive:
            return {_name(info.filename): _header(archive, info, text)
                    for info in archive.infolist() if not info.is_dir()}
    except UnreadableArrays:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError) as error:
        raise UnreadableArrays(f"not a readable .npz archive ({type(error).__name__}: {error})") from None


def _name(filename: str) -> str:
    return filename[:-4] if filename.endswith(".npy") else filename


def _header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, text: bool) -> ArrayHeader:
    name = _name(info.filename)
    if not info.filename.endswith(".npy"):
        raise UnreadableArrays(f"{info.filename!r} is not an array (.npy)")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # NumPy never writes these, and zipfile inflates bzip2 and LZMA without a bound even for a short read
        raise UnreadableArrays(f"array {name!r} is compressed with bzip2 or LZMA; save it with numpy.savez")
    with archive.open(info) as member:
        head = member.read(min(info.file_size, MAX_HEADER_BYTES))
    stream = io.BytesIO(head)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=MAX_HEADER_BYTES)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream, max_header_size=MAX_HEADER_BYTES)
        else:
            raise ValueError(f"format version {version}")
    except (ValueError, EOFError) as error:
        raise UnreadableArrays(f"array {name!r} has no readable header ({error})") from None
    header = ArrayHeader(name, tuple(int(n) for n in shape), np.dtype(dtype))
    if not (header.is_numeric or text and header.dtype.kind in "US"):
        what = ("Python objects, which are never loaded (they could run code)" if header.dtype.hasobject
                else f"{header.dtype} values, not plain numbers")
        raise UnreadableArrays(f"array {name!r} holds {what}")
    if stream.tell() + header.nbytes != info.file_size:
        raise UnreadableArrays(f"array {name!r} declares {header.shape} {header.dtype} "
                               f"({header.nbytes:,} bytes) but its member holds {info.file_size:,} bytes")
    return header
