"""How it works: a short explainer for a talk audience, linked to the controls that show each idea."""

from __future__ import annotations

import streamlit as st

from bnn_core import TrainedRun
from ui import shell


def draw(run: TrainedRun) -> None:
    st.header("1. Weights as distributions")
    st.markdown(
        "A plain network learns one number per weight. A Bayesian network learns a **distribution** per weight: "
        "here a Gaussian with its own mean μ and spread σ (torchbnn's `BayesLinear` stores μ and log σ). Every "
        "forward pass draws fresh weights, so the same input can get different answers."
    )
    st.latex(r"w \sim q(w) = \mathcal{N}(\mu, \sigma^2), \qquad p(w) = \mathcal{N}(\mu_0, \sigma_0^2)")
    st.markdown(
        "*On the main page:* **Resample** draws one such network; the prior's μ₀ and σ₀ are in the sidebar "
        "under *Prior*."
    )

    st.header("2. The reparameterisation trick")
    st.markdown(
        "Sampling is not differentiable, but a shifted and scaled standard normal is. Each weight is written as "
        "its mean plus its spread times fixed noise, so the gradient reaches μ and σ:"
    )
    st.latex(
        r"w = \mu + \sigma \odot \varepsilon, \qquad \varepsilon \sim \mathcal{N}(0, 1), \qquad \sigma = e^{\log\sigma}"
    )
    st.markdown("*In this app:* sample #k always uses the same ε, so it is the same network each time you ask for it.")

    st.header("3. The ELBO")
    st.markdown(
        "Training minimises the negative evidence lower bound: fit the data, but stay close to the prior. Over "
        "N training rows, per row:"
    )
    st.latex(
        r"\mathcal{L} = \underbrace{\mathbb{E}_{q}\big[-\log p(y \mid x, w)\big]}_{\text{cross-entropy}}"
        r" + \frac{1}{N}\,\mathrm{KL}\big(q(w)\,\|\,p(w)\big)"
    )
    st.markdown("For Gaussians the KL has a closed form, summed over every weight and bias:")
    st.latex(
        r"\mathrm{KL} = \sum_i \log\frac{\sigma_0}{\sigma_i} + \frac{\sigma_i^2 + (\mu_i - \mu_0)^2}{2\sigma_0^2}"
        r" - \frac{1}{2}"
    )
    st.markdown("*On the main page:* the loss curves show both terms as the network trains.")

    st.header("4. The KL weight, and torchbnn's mean vs sum")
    st.markdown(
        "This app trains on `CE + kl_weight × KL`, with the KL as torchbnn's `BKLLoss` computes it. With "
        "reduction **sum** the KL is the sum above, so a weight of 1/N gives the textbook ELBO. With reduction "
        "**mean** (the article) the sum is divided by the number of Bayesian parameters P (803 for 4→100→3), so "
        "the article's weight 0.01 puts the prior at 0.01/803 per row, hundreds of times weaker than 1/N. The "
        "posterior then shrinks to almost a single network: accurate, but nearly as overconfident as a plain one."
    )
    st.latex(
        r"\text{mean: } \texttt{kl\_weight}\cdot\frac{\mathrm{KL}}{P}"
        r"\qquad\text{sum: } \texttt{kl\_weight}\cdot\mathrm{KL}"
    )
    st.markdown(
        "*In the sidebar:* **KL weight** and **KL reduction**; **Load the textbook ELBO** sets sum, a weight near "
        "1/N and σ₀ = 1, and the gallery's *textbook ELBO* run is ready trained. Then compare the *Uncertainty "
        "map* and *Truck* pages."
    )

    st.header("5. Total, aleatoric and epistemic uncertainty")
    st.markdown(
        "Draw S networks; each gives class probabilities p_s, and their mean is p̄. The total uncertainty splits "
        "into two parts (in nats):"
    )
    st.latex(
        r"\underbrace{H[\bar p]}_{\text{total}} = "
        r"\underbrace{\tfrac{1}{S}\textstyle\sum_s H[p_s]}_{\text{aleatoric}} + "
        r"\underbrace{H[\bar p] - \tfrac{1}{S}\textstyle\sum_s H[p_s]}_{\text{epistemic (mutual information)}}"
    )
    st.markdown(
        "- **Aleatoric**: every sampled network is itself unsure, because the classes overlap there. More data "
        "of the same kind does not remove it.\n"
        "- **Epistemic**: the sampled networks disagree, because the data says little there. More data removes "
        "it, and a plain network cannot express it at all.\n\n"
        "*On the main page:* **Marker size shows** switches between the three; the table lists the most "
        "uncertain points."
    )

    st.header("6. The alternatives, and a gold standard")
    st.markdown(
        "The BNN here is **mean-field variational inference** (Blundell et al. 2015): one independent Gaussian per "
        "weight, fitted by the ELBO. It is cheap, and known to be too unsure on the data and not unsure enough "
        "between and beyond it. The *Methods* page sets it beside what practitioners use instead, each trained on "
        "the same rows, split and network shape:\n"
        "- **MC dropout** (Gal & Ghahramani 2016): keep dropping hidden units at prediction, and average T masks.\n"
        "- **A deep ensemble** (Lakshminarayanan et al. 2017): M plain networks from M initial weights; they agree "
        "where the data pins them down and part ways elsewhere.\n"
        "- **An HMC reference** (Izmailov et al. 2021): Hamiltonian Monte Carlo (NUTS) samples the exact "
        "posterior of a small network under the same prior. Its R-hat (do independent chains agree? ≈ 1 is good) "
        "and effective sample size are measured on the predictions, since a network's weights can be permuted "
        "without changing its function.\n\n"
        "*On the Methods page:* the table scores every method on accuracy, NLL, ECE, Brier, out-of-data detection "
        "(AUROC) and how much more unsure it is far from the data than on it; the paragraph under it reads this "
        "run's numbers aloud. The map, truck and calibration pages set any of them beside the BNN."
    )
    st.header("7. Inside the network")
    st.markdown(
        "*On the Weights page:* functions drawn from the prior alone, before any data (move σ₀ and watch them "
        "change), then each layer's posterior means and spreads against the prior: a weight with σ ≈ σ₀ and "
        "μ ≈ μ₀ kept its prior, the data told it nothing; a large |μ|/σ is a weight the data pinned down."
    )

    st.header("Sources")
    st.markdown(
        "- C. Blundell, J. Cornebise, K. Kavukcuoglu, D. Wierstra, *Weight Uncertainty in Neural Networks*, "
        "ICML 2015 (Bayes by Backprop: the reparameterised ELBO used here).\n"
        "- Y. Gal, Z. Ghahramani, *Dropout as a Bayesian Approximation: Representing Model Uncertainty in Deep "
        "Learning*, ICML 2016 (MC dropout).\n"
        "- B. Lakshminarayanan, A. Pritzel, C. Blundell, *Simple and Scalable Predictive Uncertainty Estimation "
        "using Deep Ensembles*, NeurIPS 2017.\n"
        "- P. Izmailov, S. Vikram, M. D. Hoffman, A. G. Wilson, *What Are Bayesian Neural Network Posteriors "
        "Really Like?*, ICML 2021 (HMC references, R-hat on predictions).\n"
        "- M. Hein, M. Andriushchenko, J. Bitterwolf, *Why ReLU Networks Yield High-Confidence Predictions Far "
        "Away From the Training Data and How to Mitigate the Problem*, CVPR 2019.\n"
        "- M. D. Hoffman, A. Gelman, *The No-U-Turn Sampler*, JMLR 2014; pyro-ppl's NUTS runs it here.\n"
        "- **torchbnn** (Harry24k, *bayesian-neural-network-pytorch*): the `BayesLinear` layers and `BKLLoss`.\n"
        "- *Hands-on Guide to Bayesian Neural Network in Classification* (Analytics India Magazine): the iris "
        "example this dashboard brings to life."
    )


INTRO = "The ideas behind every chart in this app, each tied to the control that shows it."

shell.run_page("How it works", "How a Bayesian neural network works", INTRO, draw)
