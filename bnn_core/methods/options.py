"""The alternatives' names and settings, and the HMC reference's, without torch: the command line builds
``compare --help`` and ``hmc --help`` from them in a fraction of a second, and :mod:`bnn_core.methods.alternatives`
and :mod:`bnn_core.methods.hmc` run the methods they name."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BNNInputError

METHODS = {  # key: the name a table or a chart gives it
    "bnn": "BNN (torchbnn)",
    "plain": "plain network",
    "dropout": "MC dropout",
    "ensemble": "deep ensemble",
    "laplace": "Laplace",
    "hmc": "HMC reference",
}
DROPOUT_P = (0.0, 0.9)  # allowed range of the drop probability
DROPOUT_SAMPLES = (2, 1000)  # allowed range of T
ENSEMBLE_MEMBERS = (2, 20)  # allowed range of M
SAMPLERS = ("compiled", "pyro")  # the HMC reference's NUTS: numba on the engine's gradient, or pyro's


@dataclass(frozen=True)
class MethodsConfig:
    """The alternatives' own settings; everything else (data, shape, epochs, lr, seed) is the run's."""

    dropout_p: float = 0.1  # probability of dropping each hidden unit, in training and in prediction
    dropout_samples: int = 100  # T, the dropout masks averaged at prediction
    ensemble_members: int = 5  # M, as in Lakshminarayanan et al. 2017

    def __post_init__(self) -> None:
        low, high = DROPOUT_P
        if not low <= self.dropout_p <= high:
            raise BNNInputError(
                f"The dropout probability must be between {low:g} and {high:g}, not {self.dropout_p:g}."
            )
        _check_count("The number of dropout samples T", self.dropout_samples, DROPOUT_SAMPLES)
        _check_count("The number of ensemble members M", self.ensemble_members, ENSEMBLE_MEMBERS)


def _check_count(what: str, value: int, bounds: tuple[int, int]) -> None:
    if not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise BNNInputError(f"{what} must be a whole number from {bounds[0]} to {bounds[1]}, not {value!r}.")


# (low, high, why) of each HMCConfig number, for its one-sentence refusal and the command line's help.
HMC_BOUNDS: dict[str, tuple[float, float, str]] = {
    "samples": (10, 5000, ""),
    "warmup": (10, 5000, ""),
    "chains": (2, 8, " (R-hat compares at least 2 chains)"),
    "max_tree_depth": (1, 12, ""),
    "target_accept": (0.5, 0.99, ""),
}


@dataclass(frozen=True)
class HMCConfig:
    """How NUTS runs; every chain has the same settings."""

    samples: int = 300  # kept draws per chain
    warmup: int = 200  # adaptation iterations per chain (step size and a diagonal mass matrix), discarded
    chains: int = 4  # run one after another in this process, each from its own seed and prior draw
    max_tree_depth: int = 8  # an iteration takes at most 2^depth − 1 leapfrog steps
    target_accept: float = 0.8  # the mean acceptance probability the step-size adaptation aims for
    sampler: str = "compiled"  # "compiled" (numba, the default) or "pyro" (the library reference, ~30× slower)

    def __post_init__(self) -> None:
        for name, (low, high, why) in HMC_BOUNDS.items():
            value = getattr(self, name)
            whole = isinstance(low, int)
            kind = (int,) if whole else (int, float)
            if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
                rule = f"a whole number from {low} to {high}" if whole else f"a number from {low} to {high}"
                raise BNNInputError(f"HMC {name.replace('_', ' ')} must be {rule}{why}, not {value!r}.")
        if self.sampler not in SAMPLERS:
            raise BNNInputError(f"The HMC sampler must be one of {', '.join(SAMPLERS)}, not {self.sampler!r}.")


class MethodNames:
    """The name and heading of one method's result, from its ``method``, a key of :data:`METHODS`."""

    method: str

    @property
    def name(self) -> str:
        return METHODS[self.method]

    @property
    def heading(self) -> str:
        """The name with a capital first letter, to start a title or a sentence."""
        return self.name[:1].upper() + self.name[1:]
