"""Training: the ELBO loop (torchbnn's, or the compiled one), and the thread policy every call runs under."""
