"""Where a run on screen comes from: the shipped gallery, the server-wide cache of finished runs, or training.

Only immutable, finished things are shared between sessions here (``st.cache_resource``):
the gallery's runs and the :class:`~bnn_core.runs.cache.RunCache`. Each session gets its own
copy of a shared run, and a run on a user's upload is never shared. With ``$BNN_SHARED_RUNS``
set (``deploy/run.sh`` sets it), the cache's runs are shared with every replica of the app too.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import streamlit as st

from bnn_core import BUILTIN_DATASETS, Dataset, RunConfig, TrainedRun, TwinRun, train_run
from bnn_core.engine.train import ProgressCallback
from bnn_core.runs.cache import RunCache
from bnn_core.runs.gallery import PRESETS, PRESETS_BY_SLUG, Preset, read_twin
from bnn_core.runs.restore import restore_run
from bnn_core.runs.shared import SharedRuns

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "gallery"
FIRST_PRESET = "article"  # what a first visit shows, without training


def runs_folder() -> Path:
    """Where the app saves runs: ``$BNN_RUNS_DIR``, or ``runs/`` beside the app."""
    return Path(os.environ.get("BNN_RUNS_DIR") or ROOT / "runs")


@st.cache_resource(show_spinner=False, max_entries=len(PRESETS))
def _shared_gallery_run(slug: str) -> TrainedRun:
    """A gallery run, read once per server; never handed out itself (see :func:`gallery_run`)."""
    return restore_run(GALLERY / slug)


def gallery_run(slug: str) -> TrainedRun:
    """This session's own copy of the gallery preset ``slug`` (no training)."""
    return copy.deepcopy(_shared_gallery_run(slug))


@st.cache_resource(show_spinner=False, max_entries=len(PRESETS))
def _shared_gallery_twin(slug: str) -> TwinRun | None:
    """A classification preset's shipped twin, read once per server; never handed out itself."""
    return read_twin(_shared_gallery_run(slug), GALLERY / slug)


def gallery_twin(run: TrainedRun) -> TwinRun | None:
    """This session's own copy of the shipped twin of ``run``, if ``run`` is a gallery preset's; else None."""
    preset = preset_for(run.config)
    if preset is None or run.data.dataset.name != preset.config.data.dataset:
        return None
    twin = _shared_gallery_twin(preset.slug)
    return None if twin is None else copy.deepcopy(twin)


def preset_for(config: RunConfig) -> Preset | None:
    """The gallery preset trained with exactly ``config``, if there is one."""
    return next((preset for preset in PRESETS if preset.config == config), None)


def preset_named(slug: str) -> Preset:
    return PRESETS_BY_SLUG[slug]


@st.cache_resource(show_spinner=False)
def run_cache() -> RunCache:
    """Finished runs on built-in data, shared by every session of this server, and by every replica through the
    folder ``$BNN_SHARED_RUNS`` when it is set."""
    return RunCache(shared=SharedRuns.from_env())


def ready_run(dataset: Dataset, config: RunConfig) -> TrainedRun | None:
    """The run for ``config`` on ``dataset`` if it needs no training: a gallery preset, or in the server's cache."""
    preset = preset_for(config)
    if preset is not None and dataset.name == preset.config.data.dataset:
        return gallery_run(preset.slug)
    return run_cache().get(config) if dataset.name in BUILTIN_DATASETS else None


def obtain_run(dataset: Dataset, config: RunConfig, on_progress: ProgressCallback) -> TrainedRun:
    """The run for ``config`` on ``dataset`` that :func:`ready_run` did not have: trained, or another session's.

    Runs on built-in data are trained once per server (once for all replicas with a shared store), however many
    sessions ask at once (each waits and watches the progress, and one finished meanwhile is simply returned);
    runs on an upload are trained for this session only. The caller asks :func:`ready_run` first, once.
    """
    if dataset.name in BUILTIN_DATASETS:
        return run_cache().get_or_train(config, lambda report: train_run(dataset, config, report), on_progress)
    return train_run(dataset, config, on_progress=on_progress)
