"""The truck probe's result, read aloud in plain English for the page (the engine returns numbers only)."""

from __future__ import annotations

import numpy as np

from bnn_core import Probe

EPISTEMIC_NOTABLE = 0.05  # nats; below this the samples practically agree
ALEATORIC_NOTABLE = 0.3  # nats; above this each sample itself hesitates between classes


def describe(result: Probe, class_names: tuple[str, ...]) -> str:
    """Read a probe aloud in two sentences: what the BNN's samples say, then what the plain network says."""
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
    twin_best = int(np.argmax(result.twin_probs))
    twin = f"The plain network is {result.twin_probs[twin_best]:.1%} sure it is {class_names[twin_best]}."
    return f"{bnn} {twin}"
