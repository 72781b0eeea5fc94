"""Training and sampling speed: the article's own loop against the project's trainer, measured in one process.

    python benchmarks/train_speed.py            # the full tables (a few minutes)
    python benchmarks/train_speed.py --smoke    # tiny step counts: proves the script runs

1. The article's settings (4→100→3, prior 0/0.1, KL weight 0.01 'mean', lr 0.01, 150 raw iris rows),
   the reference loop and the project's default trainer alternating, median of several runs each,
   timing the optimisation loop only.
2. How the cost grows with hidden width and with the number of rows (ms per step).
3. Posterior sampling: S = 100 samples on 150 points, a loop of torchbnn forward passes against
   the vectorised sampler.
4. Threads: one training, and two at once in two threads (as two browser sessions run them),
   with torch and BLAS limited to 1 or 2 threads.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numba
import torch
import torchbnn
from threadpoolctl import threadpool_limits
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import (
    DataConfig,
    ModelConfig,
    TrainConfig,
    build_bnn,
    fit,
    load_builtin,
    prepare,
    sample_probs,
    train,
)


def article_loop(x: torch.Tensor, y: torch.Tensor, hidden: int, steps: int, seed: int) -> float:
    """The article's training code, completed with zero_grad/backward/step; returns loop seconds."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        torchbnn.BayesLinear(prior_mu=0, prior_sigma=0.1, in_features=x.shape[1], out_features=hidden),
        nn.ReLU(),
        torchbnn.BayesLinear(prior_mu=0, prior_sigma=0.1, in_features=hidden, out_features=3),
    )
    cross_entropy_loss = nn.CrossEntropyLoss()
    klloss = torchbnn.BKLLoss(reduction="mean", last_layer_only=False)
    klweight = 0.01
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    start = time.perf_counter()
    for _ in range(steps):
        pre = model(x)
        cross_entropy = cross_entropy_loss(pre, y)
        kl = klloss(model)
        total_cost = cross_entropy + klweight * kl
        optimizer.zero_grad()
        total_cost.backward()
        optimizer.step()
    return time.perf_counter() - start


def project_trainer(
    x: torch.Tensor, y: torch.Tensor, hidden: int, steps: int, seed: int, engine: str = "fast"
) -> float:
    """The project's fit() on the same settings; returns its loop seconds (train_seconds).

    With engine "fast" this always times the compiled loop, even where fit's default would hand a
    large problem to torch (that choice is timed separately, in the scaling table).
    """
    model = build_bnn(x.shape[1], 3, ModelConfig(hidden=(hidden,)), seed)
    config = TrainConfig(epochs=steps, lr=0.01, kl_weight=0.01, kl_reduction="mean", engine=engine)
    if engine == "fast":  # fit()'s own compiled path, past its size check
        every = train.default_progress_every(steps)
        return train._fit_fast(model, x, y, config, seed, None, every).train_seconds
    return fit(model, x, y, config, seed).train_seconds


def data_of_size(rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Iris (raw) for 150 rows; more rows are iris repeated with small noise, so the task stays the same."""
    iris = prepare(load_builtin("iris"), DataConfig(test_size=0.0, scale="none"), seed=0)
    repeats = -(-rows // 150)
    x = iris.x.repeat(repeats, 1)[:rows]
    if rows > 150:
        x = x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    return x.contiguous(), iris.y.repeat(repeats)[:rows]


def alternate(work: dict[str, Callable[[int], float]], repeats: int) -> dict[str, list[float]]:
    """Run each piece of work in turn, ``repeats`` rounds, so machine load hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in work}
    for round_ in range(repeats):
        for name, run in work.items():
            times[name].append(run(round_))
    return times


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def article_comparison(steps: int, repeats: int) -> None:
    x, y = data_of_size(150)
    project_trainer(x, y, 100, 5, 0)  # load the compiled loop from its cache before timing
    times = alternate(
        {
            "article loop (torchbnn + BKLLoss + autograd + Adam)": lambda r: article_loop(x, y, 100, steps, r),
            "project, engine='torchbnn'": lambda r: project_trainer(x, y, 100, steps, r, "torchbnn"),
            "project, engine='fast' (default)": lambda r: project_trainer(x, y, 100, steps, r, "fast"),
        },
        repeats,
    )
    reference = statistics.median(times["article loop (torchbnn + BKLLoss + autograd + Adam)"])
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append([name, f"{median:.3f}", f"{1000 * median / steps:.3f}", f"{reference / median:.1f}×"])
    table(
        f"1. The article's settings: {steps} steps, median of {repeats} alternating runs",
        ["trainer", "loop seconds", "ms / step", "speed-up"],
        rows,
    )


def scaling(steps: int, repeats: int) -> None:
    rows = []
    for hidden, n_rows in ((100, 150), (400, 150), (1000, 150), (100, 1500), (100, 15000), (1000, 15000)):
        x, y = data_of_size(n_rows)
        engines: set[str] = set()

        def default(seed: int) -> float:
            model = build_bnn(x.shape[1], 3, ModelConfig(hidden=(hidden,)), seed)  # noqa: B023
            result = fit(model, x, y, TrainConfig(epochs=steps), seed)  # noqa: B023
            engines.add(result.engine)  # noqa: B023
            return result.train_seconds

        times = alternate(
            {
                "article": lambda r: article_loop(x, y, hidden, steps, r),  # noqa: B023
                "fast": lambda r: project_trainer(x, y, hidden, steps, r),  # noqa: B023
                "default": default,
            },
            repeats,
        )
        article, compiled, chosen = (statistics.median(times[k]) for k in ("article", "fast", "default"))
        rows.append(
            [
                str(hidden),
                f"{n_rows:,}",
                f"{1000 * article / steps:.2f}",
                f"{1000 * compiled / steps:.2f}",
                f"{1000 * chosen / steps:.2f} ({', '.join(sorted(engines))})",
                f"{article / chosen:.1f}×",
            ]
        )
    table(
        f"2. Scaling: ms per step over {steps} steps, median of {repeats}",
        ["hidden", "rows", "article loop", "compiled loop", "project default (engine used)", "speed-up"],
        rows,
    )


def sampling(repeats: int) -> None:
    x, _ = data_of_size(150)
    model = build_bnn(4, 3, ModelConfig(), seed=0)

    def loop(_: int) -> float:
        start = time.perf_counter()
        with torch.no_grad():
            torch.stack([model(x).softmax(-1) for _ in range(100)])
        return time.perf_counter() - start

    def vectorised(_: int) -> float:
        start = time.perf_counter()
        sample_probs(model, x, 100, seed=0)
        return time.perf_counter() - start

    times = alternate({"loop of 100 torchbnn forward passes": loop, "sample_probs (vectorised)": vectorised}, repeats)
    reference = statistics.median(times["loop of 100 torchbnn forward passes"])
    rows = [
        [name, f"{1000 * statistics.median(v):.2f}", f"{reference / statistics.median(v):.1f}×"]
        for name, v in times.items()
    ]
    table(f"3. Posterior sampling, S = 100, N = 150, median of {repeats}", ["method", "ms", "speed-up"], rows)


def concurrent_seconds(work: Callable[[], float], copies: int) -> float:
    """Wall time of ``copies`` runs of ``work`` started together in separate threads."""
    threads = [threading.Thread(target=work) for _ in range(copies)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def threads(steps: int, repeats: int) -> None:
    x, y = data_of_size(150)
    rows = []
    for n_threads in (1, 2):
        torch.set_num_threads(n_threads)
        with threadpool_limits(n_threads):
            for engine in ("torchbnn", "fast"):
                work = lambda: project_trainer(x, y, 100, steps, 0, engine)  # noqa: B023, E731
                one = statistics.median(concurrent_seconds(work, 1) for _ in range(repeats))
                two = statistics.median(concurrent_seconds(work, 2) for _ in range(repeats))
                rows.append([str(n_threads), engine, f"{one:.2f}", f"{two:.2f}", f"{two / one:.2f}"])
    table(
        f"4. Threads: wall seconds for {steps} steps, one training and two at once (median of {repeats})",
        ["torch/BLAS threads", "engine", "one", "two at once", "ratio"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny step counts, to prove the script runs")
    args = parser.parse_args()
    steps, scale_steps, repeats = (20, 5, 1) if args.smoke else (3000, 200, 5)
    print(f"torch {torch.__version__}, numba {numba.__version__}, {os.cpu_count()} CPUs ({platform.machine()})")
    article_comparison(steps, max(repeats, 1) if args.smoke else repeats)
    scaling(scale_steps, 1 if args.smoke else 3)
    sampling(3 if args.smoke else 20)
    threads(20 if args.smoke else 1000, 1 if args.smoke else 3)


if __name__ == "__main__":
    main()
