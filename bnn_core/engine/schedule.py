"""The learning rate step by step, whether σ had settled, and the averaged final parameters.

The loss alone cannot say whether training is done: the ELBO is nearly flat along each
weight's σ, and the single-draw gradient of log σ is so noisy that Adam at lr 0.01 takes
thousands of steps to bring σ to its optimum (about 10,000 from torchbnn's start σ = σ₀ on
Bayesian linear regression). So:

- the ``decay`` schedule keeps the base rate for the first :data:`BASE_SHARE` (40%) of the
  epochs, then lowers it window by window, exponentially, to :data:`FINAL_FRACTION` of it
  (1/300) at the last step: the long first stretch lets σ travel, the slowly shrinking
  steps take out the jitter a noisy gradient leaves. Over the last :data:`AVERAGED_SHARE`
  of the decay the parameters are averaged (Polyak–Ruppert, a snapshot every
  :data:`WINDOW` steps);
- at the end of the base-rate stretch (``decay``) or of the run (``constant``, the
  article's one rate), a check compares the last :data:`STRETCH` steps with the
  :data:`STRETCH` before: σ has **settled** if the mean change of log σ over the weights,
  between the means of their snapshots in the two stretches, is within
  :data:`SIGMA_DRIFT` (5%); the loss has settled if the later stretch's mean is not below
  the earlier one's by more than :data:`Z` standard errors and 1%; a ``constant`` run must
  also not be jittering by more than :data:`SIGMA_JITTER`; and at the end, a ``decay`` run's
  σ must not have moved on average by more than :data:`DECAY_DRIFT` since the base rate
  ended (a drift too slow for the check). Otherwise the run is marked not converged, with
  one sentence saying what was still moving.

On Bayesian linear regression, whose mean-field optimum is exact, 20,000 steps of this
schedule from a start of σ₀/10,000 came within 3.9% of every optimal σ and 0.071 posterior
standard deviations of every mean, on 50 drawn sets of 20 to 1,000 rows, 4 seeds each
(``python benchmarks/linear_oracle.py``). A step decay (÷10 at 60% and 80%) reached 5.8%; the
same schedule over 10,000 steps, 6.2%. The check flagged every run of the article's way (one
rate, 3,000 steps from σ = σ₀). Snapshots are taken at multiples of :data:`WINDOW` whatever
the blocks between progress reports, so a run is the same however its steps are grouped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import TrainConfig
from ..model.network import Params

WINDOW = 100  # steps between snapshots of the parameters; the rate changes only between windows
BASE_SHARE = 0.4  # the decay schedule keeps the base rate for this share of the epochs
FINAL_FRACTION = 1 / 300  # ... and lowers it, window by window, to this fraction of it at the end
AVERAGED_SHARE = 0.25  # the parameters kept are the average over this last share of the decay
STRETCH = 1000  # steps on each side of the convergence check (fewer in a short run)
SIGMA_DRIFT = 0.05  # a mean change of log σ beyond this between the two stretches is a drift, not jitter
# After the base rate, σ should only lose its jitter: a weight's log σ that moves by more than this on average
# between the end of the base rate and the final average was still drifting, too slowly for the check to see.
# Measured on the linear oracle: at most 0.04 in runs that reached the optimum, at least 0.19 in runs that had not.
DECAY_DRIFT = 0.1
Z = 3.0  # standard errors the mean loss must fall by to count as still falling
LOSS_TOLERANCE = 0.01  # ... and by this share of itself (plus 0.001): a slower fall changes nothing visible
# A run that ends at a rate where σ still moves by more than this between snapshots has not reached the optimum: it
# is jittering about it (seen at lr 0.01: ±3–7%, and σ off the exact optimum by up to 14%).
SIGMA_JITTER = 0.02


@dataclass(frozen=True)
class Verdict:
    """Whether a run reached the optimum, judged at ``step``; ``reason`` says what was still moving."""

    converged: bool
    step: int
    reason: str = ""  # one sentence, empty when converged


class Schedule:
    """The learning rate at every step, the convergence check, and the final average of one run.

    ``observe`` is called at every multiple of :data:`WINDOW` with the parameters then, in order.
    """

    def __init__(self, config: TrainConfig) -> None:
        self.base_lr = float(config.lr)
        self.epochs = config.epochs
        self.decaying = config.schedule == "decay"
        # The base rate ends here (the whole run, if constant); the check compares the two stretches before it.
        self.base_end = _whole_windows(BASE_SHARE * config.epochs) if self.decaying else config.epochs
        self.judged_at = _whole_windows(self.base_end)
        self.stretch = _whole_windows(min(STRETCH, self.judged_at // 3))
        averaged = _whole_windows(AVERAGED_SHARE * (config.epochs - self.base_end))
        self.average_from = config.epochs - averaged if self.decaying and averaged else config.epochs + 1
        self._snapshots: list[np.ndarray] = []  # log σ at the window ends of the two judged stretches
        self._base_log_sigma: np.ndarray | None = None  # the second stretch's mean log σ (P,), once judged
        self._averaged: list[Params] = []
        self.verdict = Verdict(
            False,
            0,
            f"{config.epochs:,} steps are too few to judge whether σ settled: it takes at least "
            f"{_fewest(self.decaying):,} with the {config.schedule} schedule.",
        )

    def next_change(self, step: int) -> int:
        """The first step after ``step`` (steps done) at which the rate may change or a snapshot is due."""
        return (step // WINDOW + 1) * WINDOW

    def lr(self, step: int) -> float:
        """The learning rate of step ``step`` (0-based): the base rate, then, window by window, lower."""
        if not self.decaying or step < self.base_end:
            return self.base_lr
        done = (step // WINDOW * WINDOW - self.base_end) / max(self.epochs - self.base_end, 1)
        return self.base_lr * FINAL_FRACTION**done

    def observe(self, step: int, totals: np.ndarray, params: Params, bayesian: bool) -> None:
        """Take the snapshot due at ``step`` steps done (a multiple of :data:`WINDOW`; others are ignored) of the
        parameters (P,) each, given every step's total loss so far ``totals`` (step,); judge the run where due."""
        if step % WINDOW or self.stretch < WINDOW:
            return
        if bayesian and self.judged_at - 2 * self.stretch < step <= self.judged_at:
            self._snapshots.append(params.log_sigma.copy())
        if step == self.judged_at:
            self._judge(step, totals, bayesian)
        if step >= self.average_from:
            self._averaged.append(Params(params.mu.copy(), params.log_sigma.copy()))

    def final(self, params: Params) -> Params:
        """The parameters to keep: the average of the snapshots of the last rate's second half, if the run got
        there, else ``params`` as they are. A run judged converged whose σ still moved on average by more than
        :data:`DECAY_DRIFT` after the base rate is marked not converged after all."""
        if not self._averaged:
            return params
        kept = Params(
            np.mean([p.mu for p in self._averaged], axis=0), np.mean([p.log_sigma for p in self._averaged], axis=0)
        )
        if self.verdict.converged and self._base_log_sigma is not None:
            moved = float(np.abs(kept.log_sigma - self._base_log_sigma).mean())
            if moved > DECAY_DRIFT:
                self.verdict = Verdict(
                    False,
                    self.epochs,
                    f"σ still moved by {math.expm1(moved):.0%} on average after the base rate ended at step "
                    f"{self.judged_at:,}: it was drifting too slowly to see there, so the bands may be off by as "
                    "much; more epochs let it settle.",
                )
        return kept

    def _judge(self, step: int, totals: np.ndarray, bayesian: bool) -> None:
        span = self.stretch
        falling = _loss_falling(totals[step - 2 * span : step - span], totals[step - span : step])
        change, half = None, len(self._snapshots) // 2
        if bayesian:
            self._base_log_sigma = np.mean(self._snapshots[half:], axis=0)
            drift = self._base_log_sigma - np.mean(self._snapshots[:half], axis=0)  # (P,)
            change = float(drift.mean()) if abs(float(drift.mean())) > SIGMA_DRIFT else None
        if change is not None:
            way, wider = ("shrinking", "wider") if change < 0 else ("growing", "narrower")
            reason = (
                f"σ was still {way} at step {step:,} (by {abs(math.expm1(change)):.0%} over the last "
                f"{span:,} steps at lr {self.lr(step - 1):g}): the bands are {wider} than the posterior's."
            )
        elif falling:
            reason = f"the loss was still falling at step {step:,}: the fit had not finished."
        elif bayesian and not self.decaying and (jitter := _jitter(self._snapshots[half:])) > SIGMA_JITTER:
            reason = (
                f"σ was still jittering by ±{jitter:.0%} from one snapshot to the next at step {step:,} (lr "
                f"{self.lr(step - 1):g}, one noisy draw a step): the bands are off by about that much; the decay "
                "schedule's smaller last steps take the jitter out."
            )
        else:
            reason = ""
        self.verdict = Verdict(not reason, step, reason)


def _whole_windows(steps: float) -> int:
    """``steps`` rounded down to whole windows."""
    return int(steps) // WINDOW * WINDOW


def _fewest(decaying: bool) -> int:
    """The fewest steps a run needs for its check: two stretches of at least a window, a third of the base-rate part
    each."""
    return math.ceil(3 * WINDOW / BASE_SHARE) if decaying else 3 * WINDOW


def _jitter(snapshots: list[np.ndarray]) -> float:
    """How much σ moves about while it no longer drifts: the mean over the weights of each log σ's standard
    deviation across ``snapshots`` (each (P,)), as a share."""
    return float(np.std(snapshots, axis=0).mean())


def _loss_falling(before: np.ndarray, after: np.ndarray) -> bool:
    """True if the mean of ``after`` is below the mean of ``before`` by more than Z standard errors and by more
    than LOSS_TOLERANCE of it: a drop too small to matter is not a fit still going on."""
    error = math.sqrt(before.var() / len(before) + after.var() / len(after))
    drop = float(before.mean() - after.mean())
    return drop > Z * error and drop > LOSS_TOLERANCE * abs(float(before.mean())) + 1e-3
