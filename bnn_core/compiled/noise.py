"""The one random number generator: a counter-based stream of uniforms and standard normals.

Value ``i`` of stream ``key`` is a pure function of ``(key, i)``: SplitMix64 hashes the
position into 52 random bits, a uniform u in (0, 1), and Wichura's AS241 algorithm (the
inverse normal CDF, accurate to about 1e-16) turns u into a normal. Any stretch of a
stream is computed directly, identically however it is asked for: the compiled trainer
draws each step's noise inside its loop, the reference loop draws the same values in
blocks, and posterior draw k is the same network alone or inside a batch. Nothing here
touches torch's or NumPy's global generators, so runs in parallel threads cannot
disturb each other. Stream keys come from :mod:`bnn_core.seeds`.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .jit import jit

_GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64's constants
_MIX_1 = 0xBF58476D1CE4E5B9
_MIX_2 = 0x94D049BB133111EB


@jit(inline="always")
def uniform_at(key: np.uint64, position: int) -> float:
    """Uniform in (0, 1) at ``position`` of stream ``key``: the top 52 bits of SplitMix64, plus half a step.

    52 bits, not 53: (k + ½)·2⁻⁵² is exact for every k < 2⁵², so the largest value is 1 − 2⁻⁵³,
    never 1.0 (where Φ⁻¹ is infinite); with 53 bits the top value rounded up to 1.0.
    """
    z = key + np.uint64(position + 1) * np.uint64(_GOLDEN)  # wraps modulo 2⁶⁴ on purpose
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX_1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX_2)
    z = z ^ (z >> np.uint64(31))
    return (np.float64(z >> np.uint64(12)) + 0.5) * 2.0**-52


@jit(inline="always")
def _central(p: float) -> float:
    """Φ⁻¹(p) for |p − ½| ≤ 0.425 (about 85% of draws): Wichura (1988), AS241 PPND16, a ratio of polynomials."""
    q = p - 0.5
    r = 0.180625 - q * q
    top = (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
               + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r
             + 133.14166789178437745) * r + 3.387132872796366608)  # fmt: skip
    bottom = (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
                  + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
                + 42.313330701600911252) * r + 1.0)  # fmt: skip
    return q * top / bottom


@jit(inline="always")
def _tail(p: float) -> float:
    """Φ⁻¹(p) for |p − ½| > 0.425: AS241's two tail ratios, in r = √(−log min(p, 1 − p))."""
    q = p - 0.5
    r = math.sqrt(-math.log(p if q < 0.0 else 1.0 - p))
    if r <= 5.0:
        r -= 1.6
        top = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
                   + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r
                 + 4.6303378461565452959) * r + 1.42343711074968357734)  # fmt: skip
        bottom = (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                      + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r
                    + 2.05319162663775882187) * r + 1.0)  # fmt: skip
    else:
        r -= 5.0
        top = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
                   + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r
                 + 5.4637849111641143699) * r + 6.6579046435011037772)  # fmt: skip
        bottom = (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                      + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
                    + 0.59983220655588793769) * r + 1.0)  # fmt: skip
    value = top / bottom
    return -value if q < 0.0 else value


@jit
def _fill_uniforms(key: np.uint64, start: int, out: np.ndarray) -> None:
    for i in range(out.shape[0]):
        out[i] = uniform_at(key, start + i)


@jit
def fill_normals(key: np.uint64, start: int, out: np.ndarray, uniforms: np.ndarray) -> None:
    """Standard normals at positions ``start …`` of stream ``key`` into ``out`` (n,), via ``uniforms`` (n,).

    Three passes instead of one branch per value, so the first two vectorise: the uniforms; the
    central formula for every value; then the tails, redone for the ~15% of values that lie there.
    Each value is the same whichever pass or lane computes it (no fast-math: no reassociation).
    """
    _fill_uniforms(key, start, uniforms)
    for i in range(out.shape[0]):
        out[i] = _central(uniforms[i])
    for i in range(out.shape[0]):
        if abs(uniforms[i] - 0.5) > 0.425:
            out[i] = _tail(uniforms[i])


def _positions(start: int, count: int) -> None:
    if start < 0 or count < 0:
        raise ValueError(f"stream positions must be 0 or more, got start {start} and count {count}")


def normals(key: int, start: int, count: int) -> np.ndarray:
    """Standard normals at positions ``start … start + count − 1`` of stream ``key``, float64 (count,)."""
    _positions(start, count)
    out = np.empty(count)
    fill_normals(np.uint64(key), start, out, np.empty(count))
    return out


def uniforms(key: int, start: int, count: int) -> np.ndarray:
    """Uniforms in (0, 1) at positions ``start … start + count − 1`` of stream ``key``, float64 (count,)."""
    _positions(start, count)
    out = np.empty(count)
    _fill_uniforms(np.uint64(key), start, out)
    return out


_compiling = threading.Lock()
_ready = threading.Event()


def warm_up() -> None:
    """Compile the generator once per process (or load it from numba's cache): about 0.6 s cold, 0.1 s cached.

    Sampling needs only this, not the trainer's kernels, so a first chart never waits for those.
    """
    if _ready.is_set():
        return
    with _compiling:
        if not _ready.is_set():
            normals(0, 0, 1)
            uniforms(0, 0, 1)
            _ready.set()
