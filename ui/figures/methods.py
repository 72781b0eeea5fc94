"""The paragraph that reads the "which to use?" table aloud with this run's own numbers, and its sources."""

from __future__ import annotations

import pandas as pd

from bnn_core import TrainedRun
from bnn_core.posterior.health import posterior_kind

CITATIONS = {
    "bnn": "Blundell et al. 2015, *Weight Uncertainty in Neural Networks*",
    "dropout": "Gal & Ghahramani 2016, *Dropout as a Bayesian Approximation*",
    "ensemble": "Lakshminarayanan et al. 2017, *Simple and Scalable Predictive Uncertainty Estimation using Deep "
    "Ensembles*",
    "laplace": "Daxberger et al. 2021, *Laplace Redux: Effortless Bayesian Deep Learning*",
    "hmc": "Izmailov et al. 2021, *What Are Bayesian Neural Network Posteriors Really Like?*",
    "relu": "Hein et al. 2019, *Why ReLU Networks Yield High-Confidence Predictions Far Away From the Training Data*",
}


GAP_RATIO_ABOVE = 1.0  # a gap ratio above this is in-between uncertainty: the band bulges between the data
FOONG = "Foong et al. 2019, *'In-Between' Uncertainty in Bayesian Neural Networks*"
ACCURACY_CLOSE = 0.05  # accuracies this close count as the same for the paragraph


def _row(table: pd.DataFrame, name: str) -> pd.Series | None:
    rows = table[table["method"] == name]
    return None if rows.empty else rows.iloc[0]


def explain(table: pd.DataFrame, run: TrainedRun) -> str:
    """What the table shows, in sentences built from its numbers; each method's source is cited."""
    bnn = _row(table, "BNN (torchbnn)")
    sentences = []
    gaps = table.dropna(subset=["mi_gap"])
    if bnn is not None and len(gaps) > 1:
        best = gaps.loc[gaps["mi_gap"].astype(float).idxmax()]
        sentences.append(
            f"Far from the data the BNN's epistemic uncertainty is **{bnn['mi_gap']:.3f} nats** above its level on "
            f"the data; the {best['method']}'s, **{best['mi_gap']:.3f}**."
            if best["method"] != bnn["method"]
            else f"Of these methods the BNN's epistemic uncertainty rises the most far from the data: "
            f"**{bnn['mi_gap']:.3f} nats** above its level on the data."
        )
    if "dist_to_hmc" in table and table["dist_to_hmc"].notna().sum() > 2:
        ranked = table.dropna(subset=["dist_to_hmc"])
        ranked = ranked[ranked["method"] != "HMC reference"].sort_values("dist_to_hmc")
        order = ", ".join(f"{row['method']} {row['dist_to_hmc']:.3f}" for _, row in ranked.iterrows())
        sentences.append(
            f"Nearest to the exact posterior first (mean |Δp̄| to HMC over the map's grid, 0 would be HMC itself): "
            f"{order}."
        )
    hmc = _row(table, "HMC reference")
    if bnn is not None and hmc is not None and hmc["mi_near"] > 0:
        sentences.append(
            f"On the training rows the BNN's mutual information is {bnn['mi_near']:.3f} nats against HMC's "
            f"{hmc['mi_near']:.3f}: {bnn['mi_near'] / hmc['mi_near']:.1f}× the reference. Mean-field VI fits one "
            "Gaussian per weight, and is known to be too unsure where the data is and not unsure enough between "
            "and beyond it (the reference is what exact Bayesian inference in this network says)."
        )
    scores = table["auroc_max_softmax"].astype(float)
    if (scores < 0.5).all():
        sentences.append(
            f"Every method's max-softmax AUROC is below 0.5 ({scores.min():.2f}–{scores.max():.2f}): each is surer "
            "at the shifted points than on the held-out rows. A ReLU network's logits grow linearly away from the "
            "data, so far out one class wins outright (Hein et al. 2019); only disagreement between networks, "
            "the MI, can flag such points, and only where they disagree."
        )
    accuracy = table["accuracy"].astype(float)
    if accuracy.max() - accuracy.min() <= ACCURACY_CLOSE:
        sentences.append(
            f"Test accuracy spans only {accuracy.min():.1%} to {accuracy.max():.1%}: the methods differ in what they "
            "say about what they have not seen more than in what they get right."
        )
    else:
        worst = table.loc[accuracy.idxmin(), "method"]
        sentences.append(
            f"Test accuracy spans {accuracy.min():.1%} ({worst}) to {accuracy.max():.1%}; with few held-out rows, "
            "each row is a step of several tenths of a percent."
        )
    kind = posterior_kind(run.config, int(run.metrics["train_rows"]), int(run.metrics["bayes_parameters"]))
    if not kind.startswith("the Bayesian posterior"):
        sentences.append(
            f"This run's BNN has {kind}. The textbook ELBO (reduction *sum*, weight exactly 1/N) gives the "
            "mean-field posterior itself, still narrower than the exact one HMC samples."
        )
    sources = "; ".join(CITATIONS.values())
    return " ".join(sentences) + f"\n\nSources: {sources}."


def explain_regression(table: pd.DataFrame) -> str:
    """What the regression table shows, with its numbers: which methods are more unsure in the data's gap than at its
    edges, and how well the 90% intervals hold; each method's source is cited."""
    sentences = []
    ratios = table.dropna(subset=["gap_ratio"])
    above = ratios[ratios["gap_ratio"] > GAP_RATIO_ABOVE]
    below = ratios[ratios["gap_ratio"] <= GAP_RATIO_ABOVE]

    def listed(rows: pd.DataFrame) -> str:
        return ", ".join(f"{row['method']} {row['gap_ratio']:.2f}" for _, row in rows.iterrows())

    if len(above):
        sentences.append(f"In the data's gap the epistemic band bulges (gap ratio above 1) for: {listed(above)}.")
    if len(below):
        sentences.append(
            f"It does not for: {listed(below)}: these are no more unsure between the data than at its edges, the "
            "in-between uncertainty that mean-field VI and MC dropout are known to lack (Foong et al. 2019)."
        )
    if len(table):
        cover = table["coverage_90"].astype(float)
        rows = int(table["rows"].iloc[0])
        sentences.append(
            f"The 90% intervals hold {cover.min():.0%} to {cover.max():.0%} of the {rows} {table['on'].iloc[0]} "
            f"targets (each target is {1 / rows:.0%})."
        )
    sources = "; ".join([*(CITATIONS[m] for m in ("bnn", "dropout", "ensemble", "laplace", "hmc")), FOONG])
    return " ".join(sentences) + f"\n\nSources: {sources}."
