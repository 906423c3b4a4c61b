"""What reading and saving an uploaded zip of images costs: seconds and peak memory, each step in a fresh
process, against a plain Pillow decode of the same files (the least any reader must do).

    .venv/bin/python bench/uploads.py                 # 20,000 PNGs of 28x28 (digits, enlarged), two folders
    .venv/bin/python bench/uploads.py --images 5000 --size 64

Prints one line per step: seconds, peak resident memory (MiB, the process's whole high-water mark,
Python and numpy included) and the zip's size.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = {
    "baseline: python + numpy + PIL imported": "import numpy, PIL.Image",
    "peer: Pillow decodes every file into a list": """
import io, zipfile, numpy as np
from PIL import Image
with zipfile.ZipFile(PATH) as z:
    images = [np.asarray(Image.open(io.BytesIO(z.read(i)))) for i in z.infolist() if not i.is_dir()]
""",
    "read_upload (checks, labels, resize, preview data)": """
from core.data.imports import read_upload
data = read_upload(PATH)
""",
    "read_upload + save to the dataset library": """
import tempfile
from core.data.imports import read_upload
from core.data.library import DatasetLibrary
DatasetLibrary(tempfile.mkdtemp()).add(read_upload(PATH), "bench")
""",
}


def make_zip(path: Path, n: int, size: int) -> None:
    from tests import uploads

    base = uploads.digit_images(min(n, 400), classes=(0, 1), size=size)
    entries = {f"bench/{'zero' if base[i % len(base)][0] == 0 else 'one'}/img_{i:05d}.png":
               uploads.png_bytes(base[i % len(base)][1]) for i in range(n)}
    path.write_bytes(uploads.zip_bytes(entries))


def measure(code: str, path: Path) -> dict:
    script = f"""
import sys, time, json
sys.path.insert(0, {str(ROOT)!r})
PATH = {str(path)!r}
start = time.perf_counter()
{code}
seconds = time.perf_counter() - start
# VmHWM is this process's own high-water mark (ru_maxrss can carry the parent's over exec)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({{"seconds": seconds, "peak_mib": peak / 1024}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=28)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.zip"
        make_zip(path, args.images, args.size)
        print(f"{args.images:,} PNGs of {args.size}x{args.size} in a {path.stat().st_size / 2 ** 20:.1f} MB zip")
        results = {name: measure(code, path) for name, code in STEPS.items()}
    peer = results["peer: Pillow decodes every file into a list"]
    for name, figures in results.items():
        ratio = f"  ({figures['seconds'] / peer['seconds']:.1f}x the peer's time)" if "read_upload" in name else ""
        print(f"{name:<55} {figures['seconds']:7.2f} s  peak {figures['peak_mib']:6.0f} MiB{ratio}")


if __name__ == "__main__":
    main()
