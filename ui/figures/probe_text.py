"""The truck probe's result, read aloud in plain English for the page (the engine returns numbers only)."""

from __future__ import annotations

import numpy as np

from bnn_core import Probe
from bnn_core.posterior.probing import Answer

EPISTEMIC_NOTABLE = 0.05  # nats; below this the samples practically agree
ALEATORIC_NOTABLE = 0.3  # nats; above this each sample itself hesitates between classes


def describe(result: Probe, class_names: tuple[str, ...], other: Answer | None = None, other_name: str = "") -> str:
    """Read a probe aloud in two sentences: what the BNN's samples say, then what the plain network (or
    ``other``, another method's answer, named ``other_name``) says."""
    best = int(np.argmax(result.mean_probs))
    if result.epistemic >= EPISTEMIC_NOTABLE:
        bnn = f"The BNN's samples disagree: epistemic {result.epistemic:.2f} nats."
    elif result.aleatoric >= ALEATORIC_NOTABLE:
        bnn = (
            f"The BNN's samples agree, but each is unsure: aleatoric {result.aleatoric:.2f} nats, "
            "so the classes overlap here."
        )
    else:
        confident = f"{result.mean_probs[best]:.1%} {class_names[best]}"
        bnn = f"The BNN is sure: {confident}, epistemic {result.epistemic:.2f} nats."
    if other is None:
        other, other_name = Answer(result.twin_probs, 0.0), "plain network"
    best = int(np.argmax(other.mean_probs))
    said = f"The {other_name} is {other.mean_probs[best]:.1%} sure it is {class_names[best]}"
    if other.epistemic >= EPISTEMIC_NOTABLE:
        said += f", with epistemic {other.epistemic:.2f} nats"
    return f"{bnn} {said}."
