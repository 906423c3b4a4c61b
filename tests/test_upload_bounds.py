"""Hostile uploads are refused before they cost (issue 21): a table's header and a parquet file's metadata, an
archive entry's declared size and compression, an .npz's array headers and the pixels all images of an upload
declare are measured before anything is parsed, expanded or decoded. "Before" is shown by the most memory
Python allocated while refusing (tracemalloc), far below what reading the file would take, or by no image
being decoded at all."""
import io
import tracemalloc
import zipfile

import numpy as np
import pandas  # noqa: F401  imported here, so that importing it is not counted in a peak
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from core.cli import main
from core.data import imports
from core.data.imports import InvalidUpload, read_upload

MB = 2 ** 20
Image.init()  # Pillow loads its format plugins once; not counted in a peak either


def refusal(content, name, peak_limit_mb):
    """read_upload's InvalidUpload message, after checking it allocated under `peak_limit_mb` on the way."""
    tracemalloc.start()
    try:
        with pytest.raises(InvalidUpload) as error:
            read_upload(content, name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < peak_limit_mb * MB, f"{peak / MB:.1f} MB allocated before {name} was refused"
    return str(error.value)


def zeros_zip(expanded_mb, *, level=9, method=zipfile.ZIP_DEFLATED, declared_mb=None):
    """A zip of one PNG-named entry of `expanded_mb` MB of zeros, written a megabyte at a time; `declared_mb`
    rewrites the size its central directory declares (the size zipfile trusts)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method, compresslevel=level) as archive:
        with archive.open("bomb/zeros.png", "w", force_zip64=expanded_mb >= 2048) as entry:
            chunk = bytes(MB)
            for _ in range(expanded_mb):
                entry.write(chunk)
    data = bytearray(buffer.getvalue())
    if declared_mb is not None:
        central = data.index(b"PK\x01\x02")
        data[central + 24:central + 28] = (declared_mb * MB).to_bytes(4, "little")
    return bytes(data)


def test_a_csv_header_of_a_million_columns_is_refused_before_the_table_is_parsed():
    header = ",".join(f"c{i}" for i in range(1_000_000)).encode()
    message = refusal(header + b"\n1,2\n", "wide.csv", peak_limit_mb=4)
    assert "1,000,000 columns" in message and "8,192 feature columns" in message, message


def test_a_parquet_file_declaring_millions_of_rows_is_refused_from_its_metadata():
    buffer = io.BytesIO()
    rows = 3_000_000  # a null column is written without a buffer: a 10 KB file, 24 MB of pointers once read
    pq.write_table(pa.table({"a": pa.nulls(rows), "b": pa.nulls(rows)}), buffer)
    assert len(buffer.getvalue()) < 100_000
    message = refusal(buffer.getvalue(), "long.parquet", peak_limit_mb=4)
    assert "3,000,000 rows" in message and "70,000" in message, message


@pytest.mark.parametrize("expanded_mb, level, words", [
    (300, 1, "larger than any image once expanded (over 256 MB)"),  # 1.4 MB uploaded, a 220:1 ratio
    (32, 9, "compressed like a zip bomb (over 500 to 1)"),          # 32 KB uploaded, deflate's 1030:1
], ids=["larger than any image", "absurd ratio"])
def test_a_zip_entry_no_image_could_fill_is_refused_before_it_is_expanded(expanded_mb, level, words):
    message = refusal(zeros_zip(expanded_mb, level=level), "bomb.zip", peak_limit_mb=8)
    assert words in message, message


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2], ids=["deflate", "bzip2"])
def test_a_zip_entry_that_expands_past_its_declared_size_is_not_expanded(method):
    """zipfile's read() of a whole entry inflates every compressed byte at once, whatever size it declares;
    bzip2 and LZMA inflate without a bound even for a short read."""
    message = refusal(zeros_zip(32, level=1, method=method, declared_mb=1), "liar.zip", peak_limit_mb=8)
    assert "none of its images could be used" in message, message


@pytest.mark.parametrize("arrays, words", [
    ({"x": np.zeros((200_000, 8, 8), np.uint8)}, "200,000 samples"),  # 12 MB of 'x', refused for its length
    ({"x": np.ones((20, 8, 8), np.uint8), "y": np.zeros(3_000_000, np.int64)}, "must match"),  # 23 MB of 'y'
], ids=["too many samples", "labels of another length"])
def test_npz_arrays_are_checked_from_their_headers_before_they_are_read(arrays, words):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    assert len(buffer.getvalue()) < 100_000
    message = refusal(buffer.getvalue(), "arrays.npz", peak_limit_mb=4)
    assert words in message, message


def test_images_of_too_many_pixels_in_all_are_refused_before_one_is_decoded(tmp_path, monkeypatch, capsys):
    """60 blank 1-bit PNGs of 40 megapixels: 5 KB each to upload, 2.4 billion pixels to decode."""
    buffer = io.BytesIO()
    Image.new("1", (8000, 5000)).save(buffer, "PNG")
    archive = tmp_path / "scans.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as entries:
        for i in range(60):
            entries.writestr(f"scans/page_{i:02d}.png", buffer.getvalue())
    decoded = []
    monkeypatch.setattr(imports, "_to_array", lambda image, shape, gray: decoded.append(image) or
                        np.zeros((*shape, 1 if gray else 3), np.uint8))
    monkeypatch.setenv("DEEP_CLUSTERING_HOME", str(tmp_path / "store"))
    code = main(["datasets", "add", str(archive)])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "Traceback" not in error, error
    assert "2.0 billion pixels" in error and "resize its 60 images to at most 1,024 pixels a side" in error, error
    assert decoded == []
