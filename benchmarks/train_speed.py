"""Training and sampling speed: the article's own loop against the project's trainer, measured in one process.

    python benchmarks/train_speed.py            # the full tables (about 20 minutes)
    python benchmarks/train_speed.py --smoke    # tiny step counts: proves the script runs

1. The article's settings (4→100→3, prior 0/0.1, KL weight 0.01 'mean', lr 0.01, 150 raw iris rows),
   the reference loop and the project's trainers alternating, median of several runs each,
   timing the optimisation loop only.
2. How the cost grows with width, depth and rows (ms per step), across the compiled loop's size limit.
3. Posterior sampling: S = 100 samples on 150 points, a loop of torchbnn forward passes against
   the vectorised sampler.
4. Threads: one training, and two at once in two threads (as two browser sessions run them),
   with torch and BLAS limited to 1 or 2 threads.
5. The plain twin: the compiled trainer against torch's loop with 1 and 2 threads, alone and beside a
   busy neighbour process.
6. Float32 drift (for information): both engines start from the same weights and draw the same noise;
   in float64 they agree to rounding, in float32 their paths drift apart.
7. breast_cancer at the app's defaults (30 features, 455 training rows, 3000 steps), alone and beside a
   busy neighbour.
8. Where a compiled step's time goes, each part timed in its own compiled loop.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numba
import numpy as np
import torch
import torchbnn
from threadpoolctl import threadpool_limits
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import (
    DataConfig,
    ModelConfig,
    NetworkSpec,
    RunConfig,
    TrainConfig,
    build_bnn,
    build_twin,
    fit,
    load_builtin,
    prepare,
    sample_probs,
    train_run,
)
from bnn_core.compiled import kernels, noise
from bnn_core.compiled.jit import jit
from bnn_core.engine import fast

ARTICLE = "article loop (torchbnn + BKLLoss + autograd + Adam)"


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


def project_fit(x: torch.Tensor, y: torch.Tensor, hidden: int, steps: int, seed: int, engine: str) -> float:
    """The project's fit() on the article's settings; returns its loop seconds (train_seconds)."""
    model = build_bnn(x.shape[1], 3, ModelConfig(hidden=(hidden,)), seed)
    return fit(model, x, y, TrainConfig(epochs=steps, engine=engine), seed).train_seconds


def compiled_loop(x: torch.Tensor, y: torch.Tensor, hidden: tuple[int, ...], steps: int, seed: int) -> float:
    """The compiled loop alone, even where fit() would hand a large problem to torch; returns seconds."""
    spec = NetworkSpec((x.shape[1], *hidden, 3), "relu")
    trainer = fast.FastTrainer(spec, spec.init(seed), x, y, TrainConfig(epochs=steps), seed)
    start = time.perf_counter()
    trainer.run(steps)
    return time.perf_counter() - start


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


@contextmanager
def busy_neighbour() -> Iterator[None]:
    """Another process keeping one core busy, as a shared server always has."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        yield
    finally:
        spinner.kill()
        spinner.wait()


def article_comparison(steps: int, repeats: int) -> None:
    x, y = data_of_size(150)
    times = alternate(
        {
            ARTICLE: lambda r: article_loop(x, y, 100, steps, r),
            "project, engine='torchbnn'": lambda r: project_fit(x, y, 100, steps, r, "torchbnn"),
            "project, engine='fast' (default)": lambda r: project_fit(x, y, 100, steps, r, "fast"),
        },
        repeats,
    )
    reference = statistics.median(times[ARTICLE])
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append([name, f"{median:.3f}", f"{1000 * median / steps:.3f}", f"{reference / median:.1f}×"])
    table(
        f"1. The article's settings: {steps} steps, median of {repeats} alternating runs",
        ["trainer", "loop seconds", "ms / step", "speed-up"],
        rows,
    )


SHAPES = [  # (hidden layers, rows): across the compiled loop's size limit, fast.MAX_MULTIPLY_ADDS
    ((100,), 150),
    ((400,), 150),
    ((1000,), 150),
    ((100,), 1500),
    ((1024,), 1500),
    ((256, 256), 150),
    ((100,), 15000),
    ((100, 100, 100), 1500),
    ((256, 256), 1500),
    ((1024, 1024), 150),
]


def scaling(steps: int, repeats: int) -> None:
    rows = []
    for hidden, n_rows in SHAPES:
        x, y = data_of_size(n_rows)
        engines: set[str] = set()

        def train(seed: int, engine: str) -> float:
            model = build_bnn(x.shape[1], 3, ModelConfig(hidden=hidden), seed)  # noqa: B023
            result = fit(model, x, y, TrainConfig(epochs=steps, engine=engine), seed)  # noqa: B023
            if engine == "fast":
                engines.add(result.engine)  # noqa: B023
            return result.train_seconds

        times = alternate(
            {
                "torchbnn": lambda r: train(r, "torchbnn"),
                "compiled": lambda r: compiled_loop(x, y, hidden, steps, r),  # noqa: B023
                "default": lambda r: train(r, "fast"),
            },
            repeats,
        )
        reference, compiled, chosen = (statistics.median(times[k]) for k in ("torchbnn", "compiled", "default"))
        multiply_adds = n_rows * sum(a * b for a, b in zip((4, *hidden), (*hidden, 3), strict=True))
        rows.append(
            [
                "-".join(map(str, hidden)),
                f"{n_rows:,}",
                f"{multiply_adds / 1e6:.1f}",
                f"{1000 * reference / steps:.2f}",
                f"{1000 * compiled / steps:.2f}",
                f"{1000 * chosen / steps:.2f} ({', '.join(sorted(engines))})",
                f"{reference / chosen:.1f}×",
            ]
        )
    table(
        f"2. Scaling: ms per step over {steps} steps, median of {repeats} "
        f"(the compiled loop hands over to torch above {fast.MAX_MULTIPLY_ADDS / 1e6:g} million multiply-adds a step)",
        ["hidden", "rows", "M multiply-adds", "torchbnn loop", "compiled loop", "project default (engine)", "speed-up"],
        rows,
    )


def sampling(repeats: int) -> None:
    x, _ = data_of_size(150)
    model = build_bnn(4, 3, ModelConfig(), seed=0)

    def loop(_: int) -> float:
        start = time.perf_counter()
        with torch.no_grad():  # the article's way: each torchbnn forward pass draws its own noise
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


def concurrent_seconds(work: Callable[[], object], copies: int) -> float:
    """Wall time of ``copies`` runs of ``work`` started together in separate threads."""
    threads = [threading.Thread(target=work) for _ in range(copies)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(count):
            yield
    finally:
        torch.set_num_threads(before)


def threads(steps: int, repeats: int) -> None:
    x, y = data_of_size(150)
    rows = []
    for n_threads in (1, 2):
        with torch_threads(n_threads):
            for engine in ("torchbnn", "fast"):
                work = lambda: project_fit(x, y, 100, steps, 0, engine)  # noqa: B023, E731
                one = statistics.median(concurrent_seconds(work, 1) for _ in range(repeats))
                two = statistics.median(concurrent_seconds(work, 2) for _ in range(repeats))
                rows.append([str(n_threads), engine, f"{one:.2f}", f"{two:.2f}", f"{two / one:.2f}"])
    table(
        f"4. Threads: wall seconds for {steps} steps, one training and two at once (median of {repeats})",
        ["torch/BLAS threads", "engine", "one", "two at once", "ratio"],
        rows,
    )


def twin(steps: int, repeats: int) -> None:
    x, y = data_of_size(150)

    def train(engine: str) -> Callable[[], float]:
        def run() -> float:
            model = build_twin(4, 3, ModelConfig(), seed=0)
            return fit(model, x, y, TrainConfig(epochs=steps, engine=engine), seed=0).train_seconds

        return run

    choices = [("compiled (engine='fast')", "fast", 1), ("torch loop, 1 thread", "torchbnn", 1)]
    choices.append(("torch loop, 2 threads", "torchbnn", 2))
    rows = []
    for name, engine, n_threads in choices:
        with torch_threads(n_threads):
            alone = statistics.median(train(engine)() for _ in range(repeats))
            with busy_neighbour():
                loaded = statistics.median(train(engine)() for _ in range(repeats))
        rows.append([name, f"{alone:.2f}", f"{loaded:.2f}"])
    table(
        f"5. The plain twin, {steps} steps on iris: loop seconds, median of {repeats}",
        ["trainer", "alone", "beside a busy process"],
        rows,
    )


def drift(steps: int) -> None:
    """Largest parameter difference between the engines, relative to the largest parameter, per tensor."""
    x, y = data_of_size(150)
    start = build_bnn(4, 3, ModelConfig(), seed=0)
    checkpoints = [s for s in (1, 10, 100, 1000, 3000) if s <= steps]
    rows = []
    for dtype in (torch.float64, torch.float32):
        cells = []
        for checkpoint in checkpoints:
            trained = {}
            for engine in ("fast", "torchbnn"):
                model = copy.deepcopy(start).to(dtype)
                fit(model, x.to(dtype), y, TrainConfig(epochs=checkpoint, engine=engine), seed=7)
                trained[engine] = model.state_dict()
            gap = max(
                ((trained["fast"][key] - value).abs().max() / value.abs().max()).item()
                for key, value in trained["torchbnn"].items()
            )
            cells.append(f"{gap:.1e}")
        rows.append([str(dtype).removeprefix("torch."), *cells])
    table(
        "6. Drift between the engines from the same start and noise (largest |Δ| / largest |parameter|)",
        ["dtype", *(f"after {c} steps" for c in checkpoints)],
        rows,
    )


def breast_cancer(steps: int, repeats: int) -> None:
    dataset = load_builtin("breast_cancer")
    config = RunConfig(train=TrainConfig(epochs=steps))

    def run() -> tuple[float, float]:
        start = time.perf_counter()
        result = train_run(dataset, config)
        return time.perf_counter() - start, result.metrics["train_seconds"]

    rows = []
    for where in ("alone", "beside a busy process"):
        with busy_neighbour() if where != "alone" else _nothing():
            results = [run() for _ in range(repeats)]
        wall = statistics.median(r[0] for r in results)
        loop = statistics.median(r[1] for r in results)
        rows.append([where, f"{wall:.2f}", f"{loop:.2f}"])
    table(
        f"7. breast_cancer at the defaults ({steps} steps, 30 → 100 → 2, 455 training rows), median of {repeats}",
        ["machine", "train_run seconds", "train_seconds (loop only)"],
        rows,
    )


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@jit
def _time_noise(key: np.uint64, work: kernels.Workspace, steps: int) -> None:
    n_params = work.eps.shape[0]
    for step in range(steps):
        noise.fill_normals(key, step * n_params, work.eps, work.uniforms)


@jit
def _time_forward(net: kernels.Net, goal: kernels.Objective, work: kernels.Workspace, steps: int) -> None:
    for _ in range(steps):
        kernels._forward(net, goal.xt, work, False)


@jit
def _time_gradients(
    net: kernels.Net, goal: kernels.Objective, state: kernels.State, work: kernels.Workspace, steps: int
) -> None:
    for _ in range(steps):
        kernels.step_gradients(net, goal, state.mu, state.log_sigma, 0.0, work)


@jit
def _time_adam(state: kernels.State, work: kernels.Workspace, adam: kernels.Adam, steps: int) -> None:
    for step in range(steps):
        kernels._adam_update(state.mu, work.grad_mu, state.m_mu, state.v_mu, adam, float(step + 1))
        kernels._adam_update(state.log_sigma, work.grad_ls, state.m_ls, state.v_ls, adam, float(step + 1))


def profile(steps: int, repeats: int) -> None:
    x, y = data_of_size(150)
    spec = NetworkSpec((4, 100, 3), "relu")
    trainer = fast.FastTrainer(spec, spec.init(0), x, y, TrainConfig(), noise_key=1)
    trainer.run(10)
    parts: dict[str, Callable[[int], None]] = {
        "whole step (train_steps)": lambda n: trainer.run(n),
        "noise: 803 normals": lambda n: _time_noise(np.uint64(1), trainer.work, n),
        "forward pass": lambda n: _time_forward(trainer.net, trainer.objective, trainer.work, n),
        "loss and all gradients": lambda n: _time_gradients(
            trainer.net, trainer.objective, trainer.state, trainer.work, n
        ),
        "Adam on μ and log σ": lambda n: _time_adam(trainer.state, trainer.work, trainer.adam, n),
    }
    for part in parts.values():
        part(2)  # compile the timing loops
    rows = []
    for name, part in parts.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            part(steps)
            times.append((time.perf_counter() - start) / steps)
        rows.append([name, f"{1000 * statistics.median(times):.4f}"])
    table(
        f"8. Where a compiled step goes (iris 4→100→3, 150 rows; median of {repeats} × {steps} steps)",
        ["part", "ms / step"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny step counts, to prove the script runs")
    args = parser.parse_args()
    small = args.smoke
    print(f"torch {torch.__version__}, numba {numba.__version__}, {os.cpu_count()} CPUs ({platform.machine()})")
    fast.warm_up()
    article_comparison(20 if small else 3000, 1 if small else 5)
    scaling(5 if small else 200, 1 if small else 3)
    sampling(3 if small else 50)
    threads(20 if small else 1000, 1 if small else 3)
    twin(20 if small else 3000, 1 if small else 3)
    drift(10 if small else 3000)
    breast_cancer(20 if small else 3000, 1 if small else 3)
    profile(20 if small else 3000, 1 if small else 5)


if __name__ == "__main__":
    main()
