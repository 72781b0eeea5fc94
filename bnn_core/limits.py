"""Every bound on what comes from outside (a file, a link, a grid), stated once, beside the settings schema.

Each limit is checked before the work it bounds starts, and each refusal names it. The settings' own ranges are
in :mod:`bnn_core.settings`; the limits of one app session (uploads, saves) are in ``ui/``, and every limit is
listed in ``docs/bad-input.md``. Pure Python: the command line's parser imports it.
"""

from __future__ import annotations

# Data: a CSV, or rows a run file holds.
MAX_ROWS = 200_000
MAX_FEATURES = 1_000
MAX_CLASSES = 50
MAX_NAME_CHARS = 1_000  # a column's name, a class's name: longer is no name but a mistake or an attack
# Larger magnitudes overflow float32 inputs or the scaler's variance; such a column needs rescaling first.
MAX_ABS_VALUE = 1e15
# A text column with more distinct values is a name or an ID rather than a category worth one-hot columns.
MAX_LEVELS = 20

# Run files: a run zip, and each file of a run.
MAX_ZIP_BYTES = 50 * 2**20  # a run zip, read from the file's size before a byte of it is read
MAX_UNPACKED_BYTES = 256 * 2**20  # all of a run zip's files together, counted as they are unpacked
MAX_JSON_BYTES = 8 * 2**20  # config.json or metrics.json (1,000 features of long names fit many times over)
MAX_JSON_DEPTH = 8  # nesting of config.json or metrics.json; the deepest a run writes is 2
MAX_RUN_FILE_BYTES = {  # each run file, from its size on disk or counted as a zip unpacks it
    "config.json": MAX_JSON_BYTES,
    "metrics.json": MAX_JSON_BYTES,
    "history.csv": 16 * 2**20,  # 100,000 epochs of 5 numbers take about 9 MB
    "model.safetensors": 64 * 2**20,  # the widest network (1,000 inputs, 4 × 1,024 units, 50 classes): 34 MB
    "predictions.csv": MAX_UNPACKED_BYTES,
}
MAX_TEXT_CHARS = 10_000  # a run file's free text: a convergence note, a package version
# A restore recomputes the posterior: rows × posterior samples × the network's weights, about one multiply-add
# each. 1.4e9 to 2.8e9 of them took a second of one core here, so this bound is 10 to 20 s; every gallery run is
# a hundredth of it or less (tests/engine/test_restore.py).
MAX_RESTORE_COST = 3 * 10**10

# Runs on disk, and sweeps.
MAX_RUN_NAME = 64  # characters of a run's name in a runs folder (the app's Save)
MAX_GRID_VALUES = 1_000  # values in one axis of a grid (σ₀, KL weight, seeds)
MAX_GRID_CELLS = 10_000  # cells of one sweep, unless raised deliberately with --max-cells
MAX_WORKERS = 256  # a sweep's local worker processes

# Showing text that came from outside: a value is quoted up to this many characters, a message up to the next.
MAX_SHOWN_VALUE = 60
MAX_SHOWN_MESSAGE = 2_000
