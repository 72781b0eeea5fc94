"""After training: posterior draws, held-out metrics, the uncertainty split, regression bands, probes and weights."""
