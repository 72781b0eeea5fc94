"""``hmc``: sample a small network's HMC reference posterior and write it to ``--out DIR/reference.safetensors``.

It always samples, even where a reference ships, so that a reference can be rebuilt, checked, or made for settings
the app has none for; the file is in the shipped format, keyed by the run's settings.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..data.prepared import prepare
from ..errors import BNNInputError
from ..methods.alternatives import sampling_progress
from ..methods.hmc import HMCConfig, HMCPosterior, hmc_spec, run_hmc
from ..methods.references import reference_key, save_reference
from .common import TrainingBar, config_from_args, load_data, network_shape

REFERENCE_FILE = "reference.safetensors"
RHAT_LIMIT = 1.01  # Vehtari et al. (2021): above it, the chains disagree


def execute(args: argparse.Namespace) -> int:
    """Sample, write the reference, then print the summary and any warning; returns the exit code."""
    dataset = load_data(args)
    config = config_from_args(args, dataset)
    hmc_config = HMCConfig(
        samples=args.hmc_samples,
        warmup=args.hmc_warmup,
        chains=args.hmc_chains,
        max_tree_depth=args.hmc_max_tree_depth,
        target_accept=args.hmc_target_accept,
        sampler=args.hmc_sampler,
    )
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise BNNInputError(f"--out {args.out} is a file; give a folder to write {REFERENCE_FILE} in.")
    data = prepare(dataset, config.data, config.seed)
    spec = hmc_spec(data, config)  # refuses a network or data HMC cannot take before any sampling
    bar = TrainingBar(sys.stderr, label="HMC", losses=False)
    try:
        posterior = run_hmc(data, config, hmc_config, sampling_progress(bar))
    finally:
        bar.close()
    assert posterior is not None  # only on_progress cancels, and the bar never does
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".{REFERENCE_FILE}.partial"  # a rename, so an interrupted write leaves no half file
    save_reference(staging, posterior, reference_key(config, hmc_config))
    staging.replace(out / REFERENCE_FILE)
    shape = network_shape(dataset.n_features, spec.sizes[-1], config)
    rows = int(data.train_mask.sum())
    print(summary(posterior, f"{shape} network on {dataset.name} ({rows} training rows)", out / REFERENCE_FILE))
    for line in warning_lines(posterior):
        print(line, file=sys.stderr)
    return 0


def summary(posterior: HMCPosterior, what: str, path: Path) -> str:
    """The report printed after sampling: time, R-hat, ESS, divergences and where the file went."""
    config, draws = posterior.config, len(posterior.samples)
    known = math.isfinite(posterior.leapfrogs)  # pyro does not report its leapfrog steps
    steps = f"; {posterior.leapfrogs:.0f} leapfrog steps an iteration" if known else ""
    return "\n".join(
        [
            f"Sampled the posterior of the {what} with NUTS ({config.sampler}): {config.chains} chains × "
            f"({config.warmup} warm-up + {config.samples} kept) in {posterior.seconds:.1f} s, "
            f"{1000 * posterior.seconds_per_draw:.1f} ms per kept draw.",
            f"  R-hat (rank-normalised, split; the predictions at the training rows and the map's grid): "
            f"max {posterior.rhat_max:.4f}, median {posterior.rhat_median:.4f}",
            f"  ESS (bulk, of the same predictions): min {posterior.ess_min:,.0f}, median {posterior.ess_median:,.0f}",
            f"  divergences: {posterior.divergences} of {draws:,} kept iterations; mean acceptance "
            f"{posterior.accept_prob:.2f}{steps}",
            f"Saved to {path}",
        ]
    )


def warning_lines(posterior: HMCPosterior) -> list[str]:
    """What to distrust in this reference, one ``warning:`` line each."""
    lines = []
    if not posterior.rhat_max <= RHAT_LIMIT:
        lines.append(
            f"warning: R-hat reaches {posterior.rhat_max:.3f}, above {RHAT_LIMIT}: the chains disagree; sample longer "
            "(--draws, --warmup) or with more chains."
        )
    if posterior.divergences:
        lines.append(
            f"warning: {posterior.divergences} kept iterations diverged: the step size is too large for part of the "
            "posterior; raise --target-accept (0.95, say)."
        )
    return lines
