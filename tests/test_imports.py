"""Reading a user's own files: zips of images, npz arrays, tables, and every bad input of issue 11."""
import io

import numpy as np
import pytest

from core.data import imports
from core.data.imports import InvalidUpload, read_upload, skipped_summary
from tests import uploads


def test_zip_with_two_label_folders_under_a_common_top_folder():
    data = read_upload(uploads.labelled_png_zip(40, top="holiday", names=("cats", "dogs")), "holiday.zip")
    assert data.kind == "images"
    assert data.x.shape == (40, 16, 16, 1) and data.x.dtype == np.uint8  # gray PNGs keep one channel
    assert data.class_names == ["cats", "dogs"]
    assert data.label_counts() == {"cats": 20, "dogs": 20}
    assert data.file_names[0] == "holiday/cats/img_000.png"
    assert data.skipped == [] and data.notes == []
    # the pixels are the digits' pixels, not a resampled copy
    first = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(
        io.BytesIO(uploads.png_bytes(uploads.digit_images(1)[0][1]))))
    assert np.array_equal(data.x[0, ..., 0], first)


def test_no_sub_folders_means_unlabelled_and_deeper_levels_are_ignored():
    images = uploads.digit_images(12)
    flat = uploads.zip_bytes({f"pics/{i}.png": uploads.png_bytes(im) for i, (_, im) in enumerate(images)})
    assert read_upload(flat, "flat.zip").labels is None
    deep = uploads.zip_bytes({f"{'a' if i % 2 else 'b'}/2024/{i}.png": uploads.png_bytes(im)
                              for i, (_, im) in enumerate(images)})
    data = read_upload(deep, "deep.zip")
    assert data.class_names == ["a", "b"] and data.label_counts() == {"a": 6, "b": 6}


def test_non_images_are_skipped_and_listed_and_macos_clutter_is_ignored():
    zipped = uploads.labelled_png_zip(20, extra={"my_photos/notes.txt": b"hi", "my_photos/one/a.csv": b"1,2",
                                                 "__MACOSX/my_photos/._img.png": b"\x00",
                                                 "my_photos/zero/broken.png": b"not a png"})
    data = read_upload(zipped, "photos.zip")
    assert data.n_samples == 20
    assert skipped_summary(data.skipped) == [
        "2 files were not images: my_photos/notes.txt, my_photos/one/a.csv.",
        "1 file was not readable images: my_photos/zero/broken.png.",
    ]


def test_mixed_sizes_are_padded_to_the_most_common_size_and_colour_is_kept():
    rng = np.random.default_rng(0)
    entries = {}
    for i in range(12):
        entries[f"c/{i}.png"] = uploads.png_bytes(rng.integers(0, 255, (20, 20, 3)))
    entries["c/wide.jpg"] = uploads.png_bytes(np.full((10, 40, 3), (200, 30, 30)), fmt="JPEG")
    data = read_upload(uploads.zip_bytes(entries), "colour.zip")
    assert data.x.shape == (13, 20, 20, 3)
    wide = data.x[data.file_names.index("c/wide.jpg")]
    assert wide[10, 10, 0] > 150 and wide[10, 10, 1] < 80  # the picture itself, not stretched
    assert np.allclose(wide[0, 10], wide[10, 10], atol=40)  # padding takes the border's colour
    assert any("resized to 20x20" in note for note in data.notes)
    gray = read_upload(uploads.zip_bytes(entries), "colour.zip", grayscale=True)
    assert gray.x.shape == (13, 20, 20, 1)


def test_default_size_is_capped_at_64_and_a_chosen_size_is_used():
    assert imports.default_image_size([(28, 28)] * 3 + [(10, 10)]) == (28, 28)
    assert imports.default_image_size([(256, 128)]) == (64, 32)
    data = read_upload(uploads.labelled_png_zip(12, size=16), "p.zip", size=(8, 8))
    assert data.x.shape[1:3] == (8, 8)
    with pytest.raises(InvalidUpload, match="between 4 and 128"):
        read_upload(uploads.labelled_png_zip(12), "p.zip", size=(2, 500))


def test_npz_of_uint8_images_with_text_labels():
    x = (np.random.default_rng(0).random((20, 8, 8, 3)) * 255).astype(np.uint8)
    y = np.array(["cat", "dog"] * 10)
    data = read_upload(uploads.npz_bytes(x=x, y=y), "pets.npz")
    assert data.x.shape == (20, 8, 8, 3) and data.class_names == ["cat", "dog"]
    assert data.file_names[:2] == ["x[0]", "x[1]"]


def test_npz_floats_outside_the_unit_range_are_scaled_and_said_so():
    x = np.random.default_rng(0).random((20, 8, 8)) * 255
    data = read_upload(uploads.npz_bytes(x=x), "a.npz")
    assert 0 <= data.x.min() and data.x.max() <= 1
    assert any("0-255" in note for note in data.notes)


def test_npz_of_feature_vectors_is_a_table():
    data = read_upload(uploads.npz_bytes(x=np.random.default_rng(0).normal(size=(30, 5))), "emb.npz")
    assert data.kind == "features" and data.x.shape == (30, 5)


def test_csv_of_features_with_a_chosen_label_column():
    data = read_upload(uploads.features_csv(30), "table.csv", label_column="label")
    assert data.kind == "features" and data.x.shape == (30, 3)
    assert data.feature_names == ["a", "b", "c"] and data.class_names == ["left", "right"]
    unlabelled = read_upload(uploads.csv_text([["a", "b"]] + [[i, i % 3] for i in range(12)]), "t.csv")
    assert unlabelled.labels is None and unlabelled.file_names[0] == "row 1"


def test_parquet_of_features():
    import pandas as pd

    frame = pd.DataFrame({"u": np.arange(20.0), "v": np.arange(20.0) % 4, "kind": ["a", "b"] * 10})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    data = read_upload(buffer.getvalue(), "t.parquet", label_column="kind")
    assert data.x.shape == (20, 2) and data.class_names == ["a", "b"]


@pytest.mark.parametrize("case, name, content, options, words", uploads.bad_files(), ids=lambda v: v
                         if isinstance(v, str) and len(v) < 40 else "")
def test_every_bad_input_gets_a_clear_message(case, name, content, options, words):
    with pytest.raises(InvalidUpload) as error:
        read_upload(content, name, **options)
    message = str(error.value)
    assert words in message, message
    assert "Traceback" not in message and len(message) < 600


def test_a_zip_bomb_is_refused_before_it_is_expanded(monkeypatch):
    monkeypatch.setattr(imports, "MAX_EXPANDED_MB", 4)
    bomb = uploads.zip_bomb(8)
    assert len(bomb) < 100_000
    with pytest.raises(InvalidUpload, match="zip bomb"):
        read_upload(bomb, "bomb.zip")


def test_more_images_than_the_limit_and_a_file_past_the_size_limit(monkeypatch):
    monkeypatch.setattr(imports, "MAX_SAMPLES", 15)
    with pytest.raises(InvalidUpload, match="limit is 15"):
        read_upload(uploads.labelled_png_zip(20), "many.zip")
    monkeypatch.setattr(imports, "MAX_FILE_MB", 0)
    with pytest.raises(InvalidUpload, match="limit of 0 MB"):
        read_upload(uploads.labelled_png_zip(12), "big.zip")


def test_a_folder_of_images_with_sub_folders_as_labels(tmp_path):
    for i, (label, image) in enumerate(uploads.digit_images(12)):
        folder = tmp_path / "pics" / ("zero" if label == 0 else "one")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.png").write_bytes(uploads.png_bytes(image))
    (tmp_path / "pics" / "readme.txt").write_text("hello")
    data = read_upload(tmp_path / "pics")
    assert data.class_names == ["one", "zero"] and data.n_samples == 12
    assert data.file_names[0].startswith("one/")


def test_sixteen_bit_cmyk_palette_and_animated_images_are_read_as_eight_bit_pictures():
    from PIL import Image

    def encoded(image, fmt="PNG", **options):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        return buffer.getvalue()

    ramp = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 to 65472
    frames = [Image.new("L", (32, 32), v) for v in (30, 200)]
    entries = {f"a/{i}.png": uploads.png_bytes(im) for i, (_, im) in enumerate(uploads.digit_images(10, size=32))}
    entries.update({"b/wide16.png": encoded(Image.fromarray(ramp)),
                    "b/cmyk.jpg": encoded(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG"),
                    "b/palette.gif": encoded(Image.new("P", (32, 32), 3)),
                    "b/animated.gif": encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])})
    data = read_upload(uploads.zip_bytes(entries), "modes.zip")
    assert data.skipped == [] and data.x.shape == (14, 32, 32, 3)
    wide = data.x[data.file_names.index("b/wide16.png")]
    assert wide.min() == 0 and 250 <= wide.max() <= 255 and 100 < np.median(wide) < 160  # scaled, not clipped
    assert data.x[data.file_names.index("b/cmyk.jpg")][16, 16, 0] > 200  # CMYK red is red
    assert int(data.x[data.file_names.index("b/animated.gif")][16, 16, 0]) == 30  # the first frame


def test_an_npz_that_expands_past_the_limit_is_refused_before_loading(monkeypatch):
    import zipfile

    monkeypatch.setattr(imports, "MAX_EXPANDED_MB", 4)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as entry:
            np.lib.format.write_array(entry, np.zeros((8 * 2 ** 20 // 64, 8, 8), np.uint8))
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(InvalidUpload, match="would expand to 8 MB"):
        read_upload(buffer.getvalue(), "bomb.npz")


def test_a_csv_with_a_byte_order_mark_and_semicolons():
    data = read_upload(b"\xef\xbb\xbfa;b;label\n" + b"".join(f"{i};{i % 3};{'xy'[i % 2]}\n".encode() for i in range(12)),
                       "excel.csv", label_column="label")
    assert data.feature_names == ["a", "b"] and data.class_names == ["x", "y"]
