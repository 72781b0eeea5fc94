"""The project's Laplace approximation (bnn_core/methods/laplace.py) against laplace-torch (Daxberger et al. 2021).

    PYTHONPATH=/tmp/laplace-torch python benchmarks/laplace_oracle.py [--seeds 0-2] [--epochs N] [--steps 100]

laplace-torch is the oracle, not a dependency: the project and CI never install it. Put it beside the venv with
``pip install --target /tmp/laplace-torch --no-deps laplace-torch==0.5.1 curvlinops-for-pytorch==3.0.1 torchmetrics
lightning-utilities einops einconv linear-operator`` (its Curvlinops backend, the one used here, imports neither
torchvision nor backpack, so neither is installed and the venv's torch is left alone); without it the script exits
with 2 and one sentence.

Each case is a plain network trained as the Methods page trains it (the textbook run of the HMC reference's shape:
16 ReLU units, prior N(0, 1), 20% held out, standard scaling; ``train_twin`` for classes, ``train_regression_twin``
with the noise σ fixed at 0.1 for sine_gap; two cases have two hidden layers, one of them tanh), at the default
length (20,000 epochs) unless ``--epochs`` says otherwise. The same trained network, as a float64 ``nn.Sequential``
of ``nn.Linear`` layers, is then fitted by both on the same training rows: the project's ``fit_laplace`` with
``structure="full"`` or ``"last_layer"``, and laplace-torch's ``Laplace(..., subset_of_weights="all"`` or
``"last_layer", hessian_structure="full", backend=CurvlinopsGGN)``. Printed per case and seed, each difference
the larger the worse:

- **precision**: max |P − P'| / max |P| of the posterior precisions G + δI at the project's δ;
- **log Z**: |log Z − log Z'| at the project's δ, δ/10 and 10δ;
- **δ vs its optimum**: |δ'/δ − 1|, δ the project's (Brent's root of MacKay's γ(δ) = δ‖θ‖²) and δ' the maximum of
  laplace-torch's own log marginal likelihood as a function of δ (a grid of 241 δ from 10⁻⁶ to 10⁶, then bounded
  Brent search in log δ around its best), found without the project's algebra; **evidence gap**: laplace-torch's
  log Z at δ' minus at δ (≥ 0, and 0 to round-off when both found the same maximum);
- **f mean**, **f cov**: the GLM predictive of the outputs f (logits, or the regression mean) on the training rows
  and 400 points drawn around them 3× as wide: max |f − f'|, and max |C − C'| / max |C| of the covariances J Σ Jᵀ.
  The outputs' Gaussian is compared, not class probabilities: the project pushes weight draws through the
  linearised network, laplace-torch's default link is the probit approximation, and they differ by design;
- **δ vs 100 Adam steps**: |δ''/δ − 1| for what laplace-torch itself fits,
  ``optimize_prior_precision(method="marglik", prior_structure="scalar")``, its default 100 Adam steps on log δ
  (lr 0.1 from δ = 1; ``--steps`` sets how many), and by how much its log Z at δ'' falls short of that at δ.

Conventions aligned, none of them a difference in the result:

- laplace-torch sums the loss over the rows (``reduction="sum"``) at temperature 1, as the project sums the
  log-likelihood; its log-likelihood keeps the Gaussian's −N log(σ√(2π)) and the project's data term keeps its
  ½ log 2π + log σ per row, so the two log Z agree with their constants; the cross-entropy has none;
- its ``sigma_noise`` is the twin's σ (held fixed), its prior mean 0 and its prior precision one scalar, as the
  project's δ (``optimize_prior_precision``'s base-class default structure is ``diag``: one δ per weight);
- its packed weights are ``parameters_to_vector`` of the layers (each weight matrix row by row, then its bias), the
  project's order, which the script checks;
- laplace-torch 0.5.1's Curvlinops backend builds the GGN by multiplying its operator with ``torch.eye(K)`` in
  torch's default dtype: with the default float32 the GGN of a float64 network comes out rounded to float32 (a
  relative 1e-8 to 3e-8 from the project's, seed 0 at 3,000 epochs). The script makes float64 the default while
  laplace-torch runs, and restores it.

Exits with 1 if a difference is above its :data:`TOLERANCES` (Adam's δ aside: it is printed to show how far its
steps get).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.metadata
import math
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

import torch
from scipy.optimize import minimize_scalar
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import RunConfig, load_builtin, train_run, train_twin
from bnn_core.methods.alternatives import plain_spec
from bnn_core.methods.laplace import Structure, fit_laplace
from bnn_core.methods.references import reference_run_config
from bnn_core.methods.regression import train_regression_twin
from bnn_core.model.likelihood import Categorical, Likelihood
from bnn_core.model.network import NetworkSpec
from bnn_core.runs.gallery import textbook_config

INSTALL = (
    "pip install --target /tmp/laplace-torch --no-deps laplace-torch==0.5.1 curvlinops-for-pytorch==3.0.1 torchmetrics "
    "lightning-utilities einops einconv linear-operator"
)
# What counts as agreement, per checked measure: float64 round-off on these sizes (K ≤ 354) is 1e-10 or below;
# the evidence is flat at its maximum (zero slope), so a search of it pins δ down only to about √ε times the
# curvature's scale (up to 9.4e-7 relative, measured on seeds 0–2).
TOLERANCES = {
    "precision": 1e-8,
    "log_z": 1e-8,
    "delta_optimum": 1e-5,
    "evidence_gap": 1e-8,
    "f_mean": 1e-8,
    "f_cov": 1e-8,
}
FAR_POINTS = 400  # drawn around the training rows, besides them


@dataclass(frozen=True)
class Case:
    """One network and structure: ``noise_sigma`` set makes it a regression with that fixed σ."""

    name: str
    dataset: str
    structure: Structure
    hidden: tuple[int, ...] = (16,)
    activation: str = "relu"
    noise_sigma: float | None = None

    @property
    def subset(self) -> str:
        """laplace-torch's name for the same weights."""
        return "all" if self.structure == "full" else "last_layer"


CASES = (
    Case("two_moons, full", "two_moons", "full"),
    Case("two_moons, last layer", "two_moons", "last_layer"),
    Case("two_moons 16-16, last layer", "two_moons", "last_layer", hidden=(16, 16)),
    Case("two_moons tanh 16-16, full", "two_moons", "full", hidden=(16, 16), activation="tanh"),
    Case("iris (3 classes), full", "iris", "full"),
    Case("sine_gap, full", "sine_gap", "full", noise_sigma=0.1),
    Case("sine_gap, last layer", "sine_gap", "last_layer", noise_sigma=0.1),
)


@dataclass(frozen=True)
class Trained:
    """A case's trained plain network and what both fits read. Shape: x (N, D) float64, y (N,)."""

    spec: NetworkSpec
    model: nn.Sequential
    likelihood: Likelihood
    x: torch.Tensor
    y: torch.Tensor
    theta: torch.Tensor  # (P,) the packed weights, float64


def run_config(case: Case, seed: int, epochs: int | None) -> RunConfig:
    """The textbook run of the HMC reference's shape for ``case``, as benchmarks/methods.py trains it."""
    base = reference_run_config(case.dataset)
    model = replace(base.model, hidden=case.hidden, activation=case.activation)
    if case.noise_sigma is not None:
        model = replace(model, noise="fixed", noise_sigma=case.noise_sigma)
    config = textbook_config(replace(base, model=model, seed=seed))
    return config if epochs is None else replace(config, train=replace(config.train, epochs=epochs))


def train(case: Case, seed: int, epochs: int | None) -> Trained:
    """Train the run, then its plain twin the way the Methods page does."""
    run = train_run(load_builtin(case.dataset), run_config(case, seed, epochs))
    if case.noise_sigma is None:
        model, likelihood = train_twin(run).model, Categorical()
    else:
        twin = train_regression_twin(run)
        model, likelihood = twin.model, twin.likelihood
    spec = plain_spec(run)
    train_rows = run.data.train_mask
    theta = torch.from_numpy(spec.pack(model).mu).double()
    return Trained(spec, model, likelihood, run.data.x[train_rows].double(), run.data.y[train_rows], theta)


@contextlib.contextmanager
def float64_default() -> Iterator[None]:
    """torch's default dtype float64 inside the block: laplace-torch's Curvlinops GGN is built from a
    ``torch.eye`` in it (see the module docstring)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def network64(trained: Trained) -> nn.Sequential:
    """A float64 copy of the plain network whose packed weights are exactly the project's θ (P,)."""
    network = copy.deepcopy(trained.model).double()
    packed = nn.utils.parameters_to_vector(network.parameters()).detach()
    if not torch.equal(packed, trained.theta):
        raise AssertionError("laplace-torch would pack the weights in another order than the project")
    return network


def fit_oracle(laplace: ModuleType, trained: Trained, case: Case):
    """laplace-torch's full-GGN Laplace fitted on the training rows in one batch (call inside float64_default)."""
    from laplace.curvature import CurvlinopsGGN

    regression = case.noise_sigma is not None
    sigma = float(torch.exp(trained.likelihood.log_sigma)) if regression else 1.0
    targets = trained.y.double().unsqueeze(1) if regression else trained.y  # (N, 1) for a regression, as it needs
    oracle = laplace.Laplace(
        network64(trained),
        "regression" if regression else "classification",
        subset_of_weights=case.subset,
        hessian_structure="full",
        sigma_noise=sigma,
        backend=CurvlinopsGGN,
    )
    oracle.fit(DataLoader(TensorDataset(trained.x, targets), batch_size=len(trained.x)))
    return oracle


def fitted_delta(oracle, steps: int) -> float:
    """laplace-torch's marglik δ after ``steps`` Adam steps (its lr, 0.1, and start, δ = 1), one scalar."""
    oracle.optimize_prior_precision(method="marglik", prior_structure="scalar", n_steps=steps)
    return float(oracle.prior_precision)


def oracle_log_z(oracle, delta: float) -> float:
    """laplace-torch's log marginal likelihood at prior precision δ."""
    return float(oracle.log_marginal_likelihood(prior_precision=torch.tensor(delta)))


def evidence_optimum(oracle) -> tuple[float, float]:
    """The δ that maximises laplace-torch's own evidence, and that maximum: the best of a grid of 241 δ from 10⁻⁶ to
    10⁶, refined by bounded Brent search in log δ within a grid step either side of it."""
    grid = torch.linspace(math.log(1e-6), math.log(1e6), 241)
    values = [oracle_log_z(oracle, math.exp(value)) for value in grid]
    best = int(torch.tensor(values).argmax())
    low, high = float(grid[max(best - 1, 0)]), float(grid[min(best + 1, len(grid) - 1)])
    found = minimize_scalar(
        lambda log_delta: -oracle_log_z(oracle, math.exp(log_delta)),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return max((values[best], math.exp(float(grid[best]))), (-found.fun, math.exp(found.x)))[::-1]


def probe_points(x: torch.Tensor, seed: int) -> torch.Tensor:
    """The training rows x (N, D) and :data:`FAR_POINTS` more drawn around them 3× as wide: (N + 400, D)."""
    generator = torch.Generator().manual_seed(seed)
    spread = 3.0 * x.std(0) * torch.randn(FAR_POINTS, x.shape[1], generator=generator, dtype=x.dtype)
    return torch.cat([x, x.mean(0) + spread])


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a − b| / max |b|: a relative difference that tiny entries of b cannot blow up."""
    return float((a - b).abs().max() / b.abs().max())


def compare(laplace: ModuleType, case: Case, trained: Trained, seed: int, steps: int) -> dict[str, float]:
    """Every measure of the module docstring for one trained network."""
    ours = fit_laplace(trained.spec, trained.theta, trained.x, trained.y, trained.likelihood, case.structure)
    delta = ours.prior_precision
    points = probe_points(trained.x, seed)
    means, covariances = ours.predictive(points)
    with float64_default():
        oracle = fit_oracle(laplace, trained, case)
        oracle.prior_precision = delta
        precision = relative(oracle.posterior_precision, ours.precision())
        f_mean, f_cov = oracle._glm_predictive_distribution(points)  # the outputs' N(f, J Σ Jᵀ), before any link
        log_z = max(
            abs(oracle_log_z(oracle, value) - ours.log_marginal_likelihood(value))
            for value in (delta / 10, delta, delta * 10)
        )
        at_ours = oracle_log_z(oracle, delta)
        best_delta, best = evidence_optimum(oracle)
        adam_delta = fitted_delta(oracle, steps)
        adam_loss = at_ours - oracle_log_z(oracle, adam_delta)
    return {
        "weights": ours.sub.n_weights,
        "delta": delta,
        "precision": precision,
        "delta_optimum": abs(best_delta / delta - 1),
        "evidence_gap": best - at_ours,
        "delta_adam": abs(adam_delta / delta - 1),
        "adam_loss": adam_loss,
        "log_z": log_z,
        "f_mean": float((f_mean - means).abs().max()),
        "f_cov": relative(f_cov, covariances),
    }


COLUMNS = {  # measure: (heading, format)
    "weights": ("K", "{:.0f}"),
    "delta": ("δ (project)", "{:.4g}"),
    "precision": ("precision", "{:.1e}"),
    "log_z": ("log Z", "{:.1e}"),
    "delta_optimum": ("δ vs its optimum", "{:.1e}"),
    "evidence_gap": ("evidence gap", "{:.1e}"),
    "f_mean": ("f mean", "{:.1e}"),
    "f_cov": ("f cov", "{:.1e}"),
    "delta_adam": ("δ vs {steps} Adam steps", "{:.1e}"),
    "adam_loss": ("their log Z short by", "{:.1e}"),
}


def header(first: list[str], steps: int) -> list[str]:
    """A Markdown table's heading and rule lines: ``first`` columns, then one per measure."""
    headings = first + [heading.format(steps=steps) for heading, _ in COLUMNS.values()]
    return ["| " + " | ".join(headings) + " |", "|---" * len(headings) + "|"]


def row(first: list[str], cells: list[str]) -> str:
    return "| " + " | ".join(first + cells) + " |"


def worst(rows: list[dict[str, float]]) -> list[str]:
    """Each measure over seeds: its range for K and δ, its largest value for a difference."""
    cells = []
    for measure, (_, style) in COLUMNS.items():
        values = [found[measure] for found in rows]
        if measure in ("weights", "delta"):
            low, high = style.format(min(values)), style.format(max(values))
            cells.append(low if low == high else f"{low}–{high}")
        else:
            cells.append(style.format(max(values)))
    return cells


def _range(text: str) -> range:
    low, _, high = text.partition("-")
    return range(int(low), int(high or low) + 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=_range, default=_range("0-2"), help="e.g. 0-2")
    parser.add_argument("--epochs", type=int, default=None, help="training steps (default: the default length)")
    parser.add_argument("--steps", type=int, default=100, help="Adam steps of laplace-torch's δ fit (its default)")
    args = parser.parse_args()
    try:
        import laplace
    except ImportError:
        print(f"laplace-torch is not importable here: install it beside the venv ({INSTALL}) and run this script "
              "with PYTHONPATH=/tmp/laplace-torch.", file=sys.stderr)  # fmt: skip
        return 2
    warnings.filterwarnings("ignore", module="laplace")  # its reminder that the probit link is the default
    versions = {name: importlib.metadata.version(name) for name in ("laplace-torch", "curvlinops-for-pytorch")}
    print(", ".join(f"{name} {version}" for name, version in versions.items()) + f", torch {torch.__version__}")
    print("\nPer case and seed (relative: precision, δ and f cov; in nats or in the outputs' units: the others):\n")
    print("\n".join(header(["case", "seed"], args.steps)))
    found: dict[str, list[dict[str, float]]] = {}
    for case in CASES:
        for seed in args.seeds:
            measures = compare(laplace, case, train(case, seed, args.epochs), seed, args.steps)
            found.setdefault(case.name, []).append(measures)
            print(row([case.name, str(seed)], worst([measures])), flush=True)
    seeds = f"{args.seeds.start}–{args.seeds.stop - 1}"
    print(f"\nOver seeds {seeds} (K and δ: their range; differences: the largest):\n")
    print("\n".join(header(["case"], args.steps)))
    for name, rows in found.items():
        print(row([name], worst(rows)))
    off = [(name, m) for name, rows in found.items() for m in TOLERANCES if max(r[m] for r in rows) > TOLERANCES[m]]
    for name, measure in off:
        print(f"- {name}: {measure} above {TOLERANCES[measure]:g}")
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
