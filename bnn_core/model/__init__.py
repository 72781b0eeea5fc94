"""The network: torchbnn layers with their shapes and priors, and the likelihoods they are trained under."""
