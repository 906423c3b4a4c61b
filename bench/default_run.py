"""Time a default run the way the Train page makes it, and print its scores.

    .venv/bin/python bench/default_run.py [--algorithm ae_kmeans] [--dataset digits] [--repeats 1]

Submits the run to the same worker process the app uses (warmed up first, as it is by the time a
user has looked at the Train page), measures the time from submission (the Train click) to the
finished result, including the UMAP projection, and prints ACC / NMI per run. k-means on raw pixels
is measured in the same run as the reference.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.experiment import RunConfig  # noqa: E402
from core.runs import FINISHED  # noqa: E402
from ui.worker import TrainingJob, TrainingWorker  # noqa: E402


def timed_run(worker: TrainingWorker, config: RunConfig):
    start = time.perf_counter()
    job = worker.submit(TrainingJob(config))
    job.wait()
    if job.status != FINISHED:
        raise SystemExit(f"run {config} ended {job.status}: {job.error}")
    result = job.read_result()  # read back from the store, as the page does
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithm", default="ae_kmeans")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--repeats", type=int, default=1, help="runs with seeds 0..repeats-1")
    args = parser.parse_args()

    worker = TrainingWorker(tempfile.mkdtemp(prefix="bench-store-"))  # keep the user's run store clean
    start = time.perf_counter()
    while not worker.ready:
        time.sleep(0.2)
    print(f"worker warm-up (TensorFlow import, UMAP compile): {time.perf_counter() - start:.1f} s")

    print(f"{'algorithm':<24}{'seed':>5}{'click->done s':>15}{'train s':>9}{'umap s':>8}{'ACC':>7}{'NMI':>7}{'ARI':>7}")
    for algorithm in ("kmeans", args.algorithm):
        for seed in range(args.repeats):
            seconds, result = timed_run(worker, RunConfig(dataset=args.dataset, algorithm=algorithm, seed=seed))
            train = result.timings.get("pretrain", 0.0) + result.timings.get("cluster", 0.0)
            m = result.metrics
            print(f"{result.algorithm_title:<24}{seed:>5}{seconds:>15.1f}{train:>9.1f}"
                  f"{result.timings.get('project_umap', 0.0):>8.1f}{m.accuracy:>7.3f}{m.nmi:>7.3f}{m.ari:>7.3f}")


if __name__ == "__main__":
    main()
