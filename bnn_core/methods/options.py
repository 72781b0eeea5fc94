"""The alternatives' names and settings, without torch: the command line builds ``compare --help`` from them
in a fraction of a second, and :mod:`bnn_core.methods.alternatives` trains the methods they name."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BNNInputError

METHODS = {  # key: the name a table or a chart gives it
    "bnn": "BNN (torchbnn)",
    "plain": "plain network",
    "dropout": "MC dropout",
    "ensemble": "deep ensemble",
    "hmc": "HMC reference",
}
DROPOUT_P = (0.0, 0.9)  # allowed range of the drop probability
DROPOUT_SAMPLES = (2, 1000)  # allowed range of T
ENSEMBLE_MEMBERS = (2, 20)  # allowed range of M


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
