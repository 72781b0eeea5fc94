"""Reference posteriors on disk: the files in references/, each keyed by everything its draws depend on.

A reference is a safetensors file: the packed draws (S, P) as tensor ``samples``, and as JSON metadata the run's
key (:func:`reference_key`), the network, the diagnostics and the HMC config. The app and ``compare`` look a run's
reference up by its key (:func:`shipped_reference`) before sampling one; ``benchmarks/hmc_references.py`` writes
the shipped ones, and ``python -m bnn_core hmc --out DIR`` writes one in the same format.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from ..config import DataConfig, ModelConfig, RunConfig
from ..model.network import NetworkSpec
from .hmc import HMCPosterior
from .options import HMCConfig

REFERENCE_DATASETS = ("two_moons", "circles")  # the sets of the reference runs below, shipped in references/
REFERENCES = Path(__file__).resolve().parents[2] / "references"


def reference_run_config(dataset: str) -> RunConfig:
    """The run the shipped two_moons and circles references are for: the app's defaults, but ``dataset``, one
    hidden layer of 16 ReLU units, prior N(0, 1), 20% held out, standard scaling and seed 0."""
    return RunConfig(
        data=DataConfig(dataset=dataset, test_size=0.2, scale="standard"),
        model=ModelConfig(hidden=(16,), activation="relu", prior_mu=0.0, prior_sigma=1.0),
        seed=0,
    )


def reference_key(run_config: RunConfig, hmc_config: HMCConfig) -> dict[str, str]:
    """What a reference posterior depends on, as strings (safetensors metadata holds only strings).

    The data (dataset, test share, scaling, and the seed, which picks the split and seeds the chains), the network
    and its prior (hidden widths joined by commas, activation, prior μ and σ), every HMCConfig field, and for
    regression the fixed noise σ. Training settings are left out: sampling does not train.
    """
    data, model = run_config.data, run_config.model
    key = {
        "dataset": data.dataset,
        "test_size": data.test_size,
        "scale": data.scale,
        "seed": run_config.seed,
        "hidden": ",".join(map(str, model.hidden)),
        "activation": model.activation,
        "prior_mu": model.prior_mu,
        "prior_sigma": model.prior_sigma,
        **asdict(hmc_config),
    }
    if data.task == "regression":
        key["noise_sigma"] = model.noise_sigma
    return {name: str(value) for name, value in key.items()}


def save_reference(path: str | Path, posterior: HMCPosterior, key: Mapping[str, str | int | float]) -> None:
    """Write ``posterior`` to a safetensors file: the draws (S, P) as tensor ``samples``, and as JSON metadata
    the ``key`` (values stored as strings), the network, the diagnostics and the HMC config."""
    spec = posterior.spec
    network = {"sizes": list(spec.sizes), "activation": spec.activation}
    network |= {"prior_mu": spec.prior_mu, "prior_sigma": spec.prior_sigma}
    diagnostics = {f.name: getattr(posterior, f.name) for f in fields(posterior) if f.compare}  # not the kept probs
    for name in ("spec", "samples", "config"):
        del diagnostics[name]
    metadata = {
        "key": json.dumps({name: str(value) for name, value in key.items()}),
        "spec": json.dumps(network),
        "diagnostics": json.dumps(diagnostics),
        "config": json.dumps(asdict(posterior.config)),
    }
    save_file({"samples": np.ascontiguousarray(posterior.samples)}, str(path), metadata=metadata)


def load_reference(path: str | Path) -> tuple[HMCPosterior, dict[str, str]]:
    """Read a file written by :func:`save_reference`: the posterior and its key."""
    with safe_open(str(path), framework="numpy") as file:
        metadata, samples = file.metadata(), file.get_tensor("samples")
    network = json.loads(metadata["spec"])
    spec = NetworkSpec(tuple(network.pop("sizes")), **network)
    config = HMCConfig(**json.loads(metadata["config"]))
    posterior = HMCPosterior(spec=spec, samples=samples, config=config, **json.loads(metadata["diagnostics"]))
    return posterior, json.loads(metadata["key"])


def shipped_reference(run_config: RunConfig, hmc_config: HMCConfig) -> HMCPosterior | None:
    """The reference in REFERENCES whose key is ``reference_key(run_config, hmc_config)``, or None.

    The same object on every call while its file is unchanged, so every rerun and session shares the predictions
    it keeps (:meth:`HMCPosterior.probs`: its 1,200 draws on the Methods page's grid). Nobody may change it.
    """
    wanted = reference_key(run_config, hmc_config)
    for path in sorted(REFERENCES.glob("*.safetensors")):
        with safe_open(str(path), framework="numpy") as file:
            if json.loads(file.metadata()["key"]) == wanted:
                stat = path.stat()
                return _loaded(str(path), stat.st_mtime_ns, stat.st_size)
    return None


@functools.lru_cache(maxsize=2 * len(REFERENCE_DATASETS))
def _loaded(path: str, mtime_ns: int, size: int) -> HMCPosterior:
    """The posterior in the file ``path``, read once per version of the file (its time and size)."""
    return load_reference(path)[0]
