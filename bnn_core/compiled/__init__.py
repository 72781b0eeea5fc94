"""Compiled kernels (numba): the noise generator and the fast trainer's loops, below the model that calls them."""
