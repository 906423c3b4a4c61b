"""Command line: `python -m core warmup` compiles UMAP's numba code once (cached on disk after)."""
import argparse
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core", description="Deep clustering explorer, command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("warmup", help="compile UMAP's numba code now, so the app's first projection is quick")
    args = parser.parse_args(argv)
    if args.command == "warmup":
        from core.projection import warm_up_umap

        start = time.perf_counter()
        warm_up_umap()
        print(f"UMAP is ready ({time.perf_counter() - start:.1f} s).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
