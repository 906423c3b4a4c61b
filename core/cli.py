"""The command line: `python -m core {train,sweep,runs,export,import,datasets,autoencoders,algorithms,warmup}` over the same
run store as the dashboard, so runs and datasets made here show there (and the other way round).

Examples::

    python -m core datasets add my_photos.zip --name photos
    python -m core train --dataset photos --algorithm dec
    python -m core train --dataset digits --algorithm ae_kmeans --set latent_dim=8 --set epochs=20
    python -m core sweep --algorithm ae_kmeans --vary latent_dim=5,10,20 --set epochs=20
    python -m core runs
    python -m core export 3 --out exports/
    python -m core autoencoders list
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

EXPORTS = ("report", "labels", "npz", "model", "run")


def _store(args):
    from core.runs import RunStore

    return RunStore(args.store) if args.store else RunStore()


def _split_assignment(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ValueError(f"expected name=value, got {text!r}.")
    name, value = text.split("=", 1)
    return name.strip(), value.strip()


def _base_config(args):
    """The RunConfig described by the shared options of `train` and `sweep`."""
    from core.algorithms import get_algorithm
    from core.data import DATASETS, dataset_exists, load_dataset
    from core.experiment import RunConfig
    from core.runs.runner import parse_axis_value

    if not dataset_exists(args.dataset):
        load_dataset(args.dataset)  # raises a KeyError naming the built-in and saved datasets
    get_algorithm(args.algorithm)  # a clear error for an unknown name
    options = {p.name: p for p in DATASETS[args.dataset].options} if args.dataset in DATASETS else {}
    dataset_options = {}
    for text in args.dataset_option:
        name, value = _split_assignment(text)
        if name not in options:
            raise ValueError(f"{args.dataset} has no option {name!r}; options: {', '.join(options) or 'none'}.")
        dataset_options[name] = options[name].parse(value)
    params = {}
    for text in args.set:
        name, value = _split_assignment(text)
        if name in ("n_clusters", "seed", "n_samples"):
            raise ValueError(f"use --{name.replace('_', '-')} for {name}.")
        params[name] = parse_axis_value(args.algorithm, name, value)
    return RunConfig(dataset=args.dataset, algorithm=args.algorithm, n_clusters=args.n_clusters, params=params,
                     n_samples=args.samples, preprocessing=args.preprocessing, seed=args.seed,
                     projection=None if args.projection == "none" else args.projection,
                     dataset_options=dataset_options, mixed_precision=args.mixed_precision,
                     projection_fit=args.projection_fit)


class _Printer:
    """Progress as a few lines: each new phase, and epoch ends at most every `every` seconds."""

    def __init__(self, prefix: str = "", every: float = 2.0, quiet: bool = False):
        self.prefix, self.every, self.quiet = prefix, every, quiet
        self.phase, self.last = None, 0.0

    def __call__(self, event) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        if event.phase != self.phase:
            self.phase = event.phase
            print(f"{self.prefix}{event.message}", flush=True)
            self.last = now
        elif event.end_of_epoch and (now - self.last >= self.every or event.epoch == event.n_epochs):
            loss = f" loss {event.loss:.4f}" if event.loss is not None else ""
            print(f"{self.prefix}  epoch {event.epoch}/{event.n_epochs}{loss}", flush=True)
            self.last = now


def _scores(result_or_record) -> str:
    scores = result_or_record.metrics.as_dict() if hasattr(result_or_record.metrics, "as_dict") \
        else result_or_record.scores
    return "  ".join(f"{k} {v:.3f}" for k, v in scores.items() if v is not None)


def cmd_train(args) -> int:
    from core.runs.runner import record_run

    config = _base_config(args)
    store = _store(args)
    result = record_run(config, store, callback=_Printer(quiet=args.quiet), name=args.name, tags=args.tag)
    print(f"run {result.run_id} finished in {result.total_seconds:.1f} s: {_scores(result)}")
    print(f"saved in {store.directory}")
    return 0


def cmd_sweep(args) -> int:
    from core.runs.runner import describe_point, parse_axis_value, run_sweep, sweep_configs

    store = _store(args)
    if args.from_sweep is not None:
        known = {s.id: s for s in store.sweeps.all()}
        if args.from_sweep not in known:
            raise ValueError(f"there is no sweep {args.from_sweep} in {store.directory}.")
        base, axes = known[args.from_sweep].base_config, known[args.from_sweep].axes
    else:
        if not args.vary:
            raise ValueError("give the settings to vary with --vary NAME=V1,V2 (or repeat a sweep with --from-sweep).")
        base = _base_config(args)
        axes = {}
        for text in args.vary:
            name, values = _split_assignment(text)
            axes[name] = [parse_axis_value(base.algorithm, name, v) for v in values.split(",") if v.strip()]
    total = len(sweep_configs(base, axes))
    print(f"sweep of {total} runs: " + " x ".join(f"{a} ({', '.join(map(str, v))})" for a, v in axes.items()))
    printers: dict = {}

    def progress(index, n, config, event):
        if index not in printers:
            printers[index] = _Printer(prefix=f"[{index + 1}/{n}] ", quiet=args.quiet)
            print(f"[{index + 1}/{n}] {describe_point(config, axes)}", flush=True)
        printers[index](event)

    if args.ray:
        from core.runs.ray_sweeps import RayUnavailable

        try:
            sweep_id, outcomes = _sweep_on_ray(args, store, base, axes)
        except RayUnavailable as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    else:
        sweep_id, outcomes = run_sweep(base, axes, store, callback=progress)
    print(f"sweep {sweep_id} done:")
    for config, outcome in zip(sweep_configs(base, axes), outcomes):
        point = describe_point(config, axes)
        if isinstance(outcome, Exception):
            print(f"  {point}: failed ({outcome})")
        else:
            print(f"  {point}: run {outcome.run_id}  {_scores(outcome)}")
    return 0 if not any(isinstance(o, Exception) for o in outcomes) else 1


def _sweep_on_ray(args, store, base, axes: dict):
    """The sweep as Ray tasks on the cluster at ``--ray``, a line for each run as it is queued, starts and ends
    (and its progress, unless --quiet); returns (sweep id, outcomes)."""
    from core.runs.ray_sweeps import PROGRESS, run_sweep_on_ray
    from core.runs.runner import describe_point, sweep_configs
    from core.runs.status import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING

    configs = sweep_configs(base, axes)
    printers: dict = {}

    def report(index, kind, payload):
        prefix = f"[{index + 1}/{len(configs)}] "
        if kind == PROGRESS:
            printers.setdefault(index, _Printer(prefix=prefix, quiet=args.quiet))(payload)
            return
        if kind == FINISHED:
            said = f"finished: run {payload.run_id}  {_scores(payload)}"
        else:
            said = {QUEUED: "queued on the Ray cluster", RUNNING: f"running (run {payload})",
                    FAILED: f"failed ({payload})", CANCELLED: "cancelled"}[kind]
        print(f"{prefix}{describe_point(configs[index], axes)}: {said}", flush=True)

    return run_sweep_on_ray(base, axes, store, address=args.ray, report=report)


def command_line(base, axes: dict) -> str:
    """The `python -m core sweep` command that runs the sweep of `axes` over `base` (settings left at their
    defaults are omitted)."""
    import shlex

    from core.algorithms import get_algorithm
    from core.data import DATASETS, DEFAULT_PREPROCESSING
    from core.experiment import RunConfig

    defaults = RunConfig()
    parts = ["python", "-m", "core", "sweep", "--dataset", base.dataset, "--algorithm", base.algorithm]
    for name, value in base.dataset_options.items():
        spec = {p.name: p for p in DATASETS[base.dataset].options}.get(name)
        if spec is None or value != spec.default:
            parts += ["--dataset-option", f"{name}={value}"]
    for flag, value, default in (("--n-clusters", base.n_clusters, None), ("--samples", base.n_samples, None),
                                 ("--seed", base.seed, defaults.seed),
                                 ("--preprocessing", base.preprocessing, DEFAULT_PREPROCESSING),
                                 ("--projection", base.projection or "none", defaults.projection)):
        flag_axis = flag[2:].replace("-", "_").replace("samples", "n_samples")
        if value != default and flag_axis not in axes:
            parts += [flag, str(value)]
    specs = {p.name: p for p in get_algorithm(base.algorithm).params}
    for name, value in base.params.items():
        if name not in axes and name in specs and value != specs[name].default:
            parts += ["--set", f"{name}={'auto' if value is None else value}"]
    for axis, values in axes.items():
        parts += ["--vary", f"{axis}=" + ",".join("auto" if v is None else str(v) for v in values)]
    if base.mixed_precision:
        parts.append("--mixed-precision")
    if base.projection_fit != defaults.projection_fit:
        parts += ["--projection-fit", base.projection_fit]
    return " ".join(shlex.quote(part) for part in parts)


def cmd_runs(args) -> int:
    import pandas as pd

    from core.runs.compare import METRICS, runs_table
    from core.runs.records import clean_text

    store = _store(args)
    records = store.list_runs(status=args.status, dataset=args.dataset, algorithm=args.algorithm, sweep_id=args.sweep)
    if not records:
        print(f"no runs in {store.directory}" + (" matching the filters" if any(
            (args.status, args.dataset, args.algorithm, args.sweep)) else ""))
        return 0
    table = runs_table(records)
    columns = ["id", "name", "status", "dataset", "algorithm", "k", *METRICS, "seconds", "started"]
    shown = table[columns].rename(columns={"k": "clusters"})
    shown["name"] = shown["name"].map(clean_text)  # records written before names were cleaned
    if store.unknown_folders:
        print(f"note: {store.unknown_folders_note()}", file=sys.stderr)
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 48):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
    return 0


def cmd_export(args) -> int:
    from core.runs.export import arrays_npz, file_stem, labels_csv, model_zip
    from core.runs.report import html_report
    from core.runs.transfer import run_archive

    store = _store(args)
    record = store.get(args.run)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder to write the exports into.")
    result = store.load_result(args.run)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot make the folder {out} ({error.strerror or error}); choose another --out.") from None
    stem = file_stem(result)
    makers = {
        "report": (f"{stem}-report.html", lambda: html_report(result, run_id=record.id, name=record.name).encode()),
        "labels": (f"{stem}-labels.csv", lambda: labels_csv(result)),
        "npz": (f"{stem}-embedding.npz", lambda: arrays_npz(result)),
        "model": (f"{stem}-model.zip", lambda: model_zip(store, record.id)),
        "run": (f"{stem}-run.zip", lambda: run_archive(store, record.id)),
    }
    for what in (EXPORTS if "all" in args.what else args.what):
        name, make = makers[what]
        try:
            data = make()
        except ValueError as error:
            print(f"{what}: {error}", file=sys.stderr)
            continue
        target = out / name
        replaced = target.exists()
        try:
            partial = target.with_name(f".{name}.partial")
            partial.write_bytes(data)
            os.replace(partial, target)  # a failed write never leaves half a file under the real name
        except OSError as error:
            raise ValueError(f"cannot write {target} ({error.strerror or error}); choose another --out.") from None
        print(f"{'replaced' if replaced else 'wrote'} {target} ({len(data) / 1024:.0f} KiB)")
    return 0


def cmd_import(args) -> int:
    from core.runs.transfer import import_run

    path = Path(args.file)
    if not path.is_file():
        raise ValueError(f"there is no file {path}.")
    store = _store(args)
    run_id = import_run(store, path.read_bytes(), name=args.name)
    print(f"imported {path.name} as run {run_id}: {store.get(run_id).name}")
    return 0


def cmd_delete(args) -> int:
    """Delete runs by id, their records and files; a record too damaged to read is deleted all the same."""
    store = _store(args)
    for run_id in args.runs:
        store.delete(run_id, force=args.force)
        print(f"deleted run {run_id}")
    return 0


def cmd_datasets(args) -> int:
    from core.data.imports import read_upload, skipped_summary
    from core.runs.datasets import remove_dataset, rename_dataset

    store = _store(args)
    library = store.datasets
    if args.action == "list":
        infos = library.list()
        if not infos:
            print(f"no saved datasets in {library.root}")
        for info in infos:
            print(f"{info.name:<28} {info.summary}  (from {info.source}, {info.size_bytes / 2 ** 20:.1f} MB)")
        return 0
    if args.action == "remove":
        remove_dataset(store, args.target)
        print(f"removed {args.target}")
        return 0
    if args.action == "rename":
        if not args.new_name:
            raise ValueError("give the new name: datasets rename OLD NEW.")
        print(f"renamed {args.target} to {rename_dataset(store, args.target, args.new_name)}")
        return 0
    size = _parse_size(args.size) if args.size else None
    data = read_upload(Path(args.target), size=size, grayscale=args.grayscale, label_column=args.label_column)
    name = args.name or Path(args.target.rstrip("/\\")).stem
    info = library.add(data, name)
    for line in [*skipped_summary(data.skipped), *data.notes]:
        print(f"note: {line}")
    print(f"saved {info.name}: {info.summary}")
    return 0


def cmd_autoencoders(args) -> int:
    from core.vocabulary import format_bytes

    library = _store(args).autoencoders
    if args.what == "list":
        entries = library.entries()
        if not entries:
            print(f"no pretrained autoencoders in {library.directory}")
        for entry in entries:
            uses = int(entry.info.get("uses", 0))
            print(f"{entry.key}  {entry.describe()}  {format_bytes(entry.size_bytes)}, reused {uses} time"
                  f"{'' if uses == 1 else 's'}, last used {entry.info.get('last_used', '?')}")
        if entries:
            print(f"{len(entries)} pretrained autoencoder{'' if len(entries) == 1 else 's'}, "
                  f"{format_bytes(sum(e.size_bytes for e in entries))}")
        return 0
    if args.what == "remove":
        if not args.key:
            raise ValueError("give the key to remove (see: autoencoders list).")
        library.remove(args.key)
        print(f"removed {args.key}")
        return 0
    print(f"removed {library.clear()} pretrained autoencoders")
    return 0


def _parse_size(text: str) -> tuple:
    parts = text.lower().replace(" ", "").split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"--size must look like 32x32 (height x width); got {text!r}.")
    return int(parts[0]), int(parts[1])


def cmd_algorithms(args) -> int:
    from core.algorithms import ALGORITHMS

    width = max(map(len, ALGORITHMS)) + 2  # a longer name (a method added later) keeps its columns
    for name, spec in ALGORITHMS.items():
        params = ", ".join(f"{p.name}={'auto' if p.default is None else p.default}" for p in spec.params)
        print(f"{name:<{width}}{spec.family:<10}{spec.title}\n{'':<{width + 10}}{params or '(no parameters)'}")
    return 0


def cmd_warmup(args) -> int:
    from core.projection import warm_up_umap

    start = time.perf_counter()
    warm_up_umap()
    print(f"UMAP is ready ({time.perf_counter() - start:.1f} s).")
    return 0


def _run_options(parser) -> None:
    from core.algorithms import DEFAULT_ALGORITHM
    from core.data import DEFAULT_DATASET, DEFAULT_PREPROCESSING, PREPROCESSING
    from core.projection import UMAP_FITS

    parser.add_argument("--dataset", default=DEFAULT_DATASET, help=f"dataset name (default {DEFAULT_DATASET})")
    parser.add_argument("--algorithm", default=DEFAULT_ALGORITHM,
                        help=f"algorithm name (default {DEFAULT_ALGORITHM}; see `python -m core algorithms`)")
    parser.add_argument("--n-clusters", type=int, default=None, help="clusters (default: the number of classes)")
    parser.add_argument("--samples", type=int, default=None, help="stratified subset size (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preprocessing", default=DEFAULT_PREPROCESSING, choices=list(PREPROCESSING))
    parser.add_argument("--projection", default="umap", choices=["umap", "pca", "none"],
                        help="2-D projection saved with the run (default umap)")
    parser.add_argument("--projection-fit", default="auto", choices=list(UMAP_FITS),
                        help="what the projection's UMAP is fitted on: all points, or a sample of 10,000 with the "
                             "rest placed by UMAP's transform; auto: the sample above 40,000 points")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an algorithm parameter, e.g. --set latent_dim=8 (repeatable)")
    parser.add_argument("--dataset-option", action="append", default=[], metavar="NAME=VALUE",
                        help="a dataset option, e.g. --dataset-option n_samples=500 for synthetic")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="train the network in float16 with float32 weights: faster on recent NVIDIA GPUs, "
                             "slower on a CPU (docs/gpu.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Deep clustering explorer, command line.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("::")[1])
    parser.add_argument("--store", default=None,
                        help="run store folder (default: $DEEP_CLUSTERING_HOME or the user data folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train one configuration and save it as a run")
    _run_options(train)
    train.add_argument("--name", default=None, help="the run's name (default: algorithm on dataset #id)")
    train.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    sweep = sub.add_parser("sweep", help="train a grid over one or two settings, one run per point")
    _run_options(sweep)
    sweep.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2,...",
                       help="a setting and its values, e.g. --vary latent_dim=5,10,20 (once or twice, and once "
                            "more for seed=0,1,2 to repeat the grid over seeds; n_clusters and n_samples work too)")
    sweep.add_argument("--from-sweep", type=int, default=None, metavar="ID",
                       help="repeat sweep ID of the store (made here or in the dashboard) with the same settings")
    sweep.add_argument("--ray", default=None, metavar="ADDRESS",
                       help="run each point as a task on the Ray cluster at ADDRESS (\"auto\", \"ray://host:10001\", "
                            "or \"local\" to start one here); needs requirements-ray.txt, see docs/ray.md")
    runs = sub.add_parser("runs", help="list the runs in the store")
    runs.add_argument("--status", default=None)
    runs.add_argument("--dataset", default=None)
    runs.add_argument("--algorithm", default=None)
    runs.add_argument("--sweep", type=int, default=None)
    export = sub.add_parser("export", help="write a run's report, labels, arrays or model to files")
    export.add_argument("run", type=int, help="run id (see `python -m core runs`)")
    export.add_argument("--what", nargs="+", default=["all"], choices=["all", *EXPORTS])
    export.add_argument("--out", default=".", help="output folder (default: here)")
    imports = sub.add_parser("import", help="add a run exported from another store (export --what run)")
    imports.add_argument("file", help="the run's zip")
    imports.add_argument("--name", default=None, help="a new name for it (default: its own)")
    delete = sub.add_parser("delete", help="delete runs (their records and files), even one too damaged to read")
    delete.add_argument("runs", type=int, nargs="+", help="run ids (see `python -m core runs`)")
    delete.add_argument("--force", action="store_true",
                        help="also delete a run recorded as running whose process is gone")
    datasets = sub.add_parser("datasets", help="add, list, rename or remove your own datasets",
                              description="Your own datasets, saved in the run store's dataset library.")
    datasets.add_argument("action", choices=["add", "list", "remove", "rename"])
    datasets.add_argument("target", nargs="?", default=None,
                          help="add: a .zip of images, a folder of images (sub-folders are labels), an .npz or "
                               "a .csv / .parquet table; remove, rename: the dataset's name")
    datasets.add_argument("new_name", nargs="?", default=None, help="rename: the new name")
    datasets.add_argument("--name", default=None, help="add: the dataset's name (default: the file's name)")
    datasets.add_argument("--size", default=None, metavar="HxW",
                          help="add: resize images to this (default: the most common size, at most 64x64)")
    datasets.add_argument("--grayscale", action="store_true", help="add: convert images to grayscale")
    datasets.add_argument("--label-column", default=None, help="add: a table's label column (default: none)")
    autoencoders = sub.add_parser("autoencoders", help="list or remove the pretrained autoencoders kept for reuse",
                                  description="Autoencoders pretrained by earlier runs, reused when a run's "
                                              "network, training settings and images are the same.")
    autoencoders.add_argument("what", choices=["list", "remove", "clear"])
    autoencoders.add_argument("key", nargs="?", default=None, help="remove: the key shown by list")
    sub.add_parser("algorithms", help="list the algorithms and their parameters")
    sub.add_parser("warmup", help="compile UMAP's numba code now, so the app's first projection is quick")
    return parser


def main(argv=None) -> int:
    """Run one command; returns its exit code (2 with one line on stderr for any error)."""
    from core.runs import STORE_ENV

    saved = os.environ.get(STORE_ENV)
    try:
        return _main(argv)
    finally:  # --store applies to this command only (main may be called in-process, from a notebook or a test)
        if saved is None:
            os.environ.pop(STORE_ENV, None)
        else:
            os.environ[STORE_ENV] = saved


def _main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    from core import quiet_tensorflow_import
    from core.data import DatasetUnavailable
    from core.runs import STORE_ENV, RunNotFound, StoreError

    if args.store:  # saved datasets are looked up in this store's library too
        os.environ[STORE_ENV] = str(Path(args.store).expanduser())
    if getattr(args, "action", None) in ("add", "remove", "rename") and not args.target:
        print(f"error: datasets {args.action} needs a {'path' if args.action == 'add' else 'dataset name'}.",
              file=sys.stderr)
        return 2
    if args.command in ("train", "sweep"):
        quiet_tensorflow_import()
    commands = {"train": cmd_train, "sweep": cmd_sweep, "runs": cmd_runs, "export": cmd_export,
                "datasets": cmd_datasets, "import": cmd_import, "delete": cmd_delete, "autoencoders": cmd_autoencoders,
                "algorithms": cmd_algorithms, "warmup": cmd_warmup}
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("stopped; the run is recorded as interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (`| head`): nothing to say, and nothing more to write
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, KeyError, OSError, RunNotFound, StoreError, DatasetUnavailable, FloatingPointError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        if isinstance(error, OSError) and error.strerror:
            message = f"{error.strerror}: {error.filename}" if error.filename else error.strerror
        print(f"error: {_one_line(message)}", file=sys.stderr)
        return 2
    except Exception as error:  # a fault nobody foresaw still gets one line, never a traceback
        print(f"error: {_one_line(f'{type(error).__name__}: {error}')} (unexpected: please report it)",
              file=sys.stderr)
        return 2


def _one_line(message) -> str:
    from core.runs.records import clean_text

    return " ".join(clean_text(part) for part in str(message).splitlines()).strip()
