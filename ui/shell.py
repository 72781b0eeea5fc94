"""The frame around every page: the sidebar, the link in the URL, and training that keeps the old charts.

Every script run goes: :func:`read_link_once` (the first run of a session applies the URL),
:func:`sidebar` (the gallery, presenter mode and the settings form, the same on every page),
the page itself through :func:`run_page` (the run on screen is drawn first; a pending Train
then trains in the status strip above it and the page is redrawn when the model is ready),
and last :func:`write_link`, which puts the state back into the URL.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from bnn_core import BUILTIN_DATASETS, BNNInputError, RunConfig, TrainedRun, span_range
from bnn_core.runs.gallery import PRESETS
from bnn_core.text import quoted

from . import links, page, sources, state
from .controls import fill_form, settings_form
from .figures.run_text import run_caption
from .server import warm
from .text import plain
from .training import interrupted_message, refusal, train_live
from .views import tune

LINK_CONFIG = "bnn_link_config"  # the RunConfig a link asked for, until the first page shows it
LINK_SAMPLE = "bnn_link_sample"
LINK_PROBLEMS = "bnn_link_problems"  # sentences about bad parameters, shown once
GALLERY_WIDGET = "gallery_choice"
# px: the strip above the charts, for what to notice, or the progress of a training: three lines of a preset's
# notice beside the sidebar, two in presenter mode's wider page
STATUS_HEIGHT, PRESENTING_STATUS_HEIGHT = 76, 58


def read_link_once() -> None:
    """On a session's first script run, take the model, the view and presenter mode from the URL."""
    if st.session_state.get(state.LINK_READ):
        return
    st.session_state[state.LINK_READ] = True
    link = links.parse({name: st.query_params.get_all(name) for name in st.query_params})
    problems = list(link.problems)
    if link.present is not None:
        state.set_presenting(link.present)
    if link.csv_dataset is not None:
        problems.append(
            f"This link shows a model trained on the CSV {quoted(link.csv_dataset)}, which stays in the browser that "
            "uploaded it: upload it on the Data page and train; the default model is shown meanwhile."
        )
    if link.config is not None:  # the form shows the link's settings, so that Train trains what is on screen
        fill_form(link.config)
    shown = link.config if link.config is not None else sources.preset_named(sources.FIRST_PRESET).config
    data = state.builtin_dataset(shown.data.dataset)
    problems += _apply_view(link, data.x, data.feature_names, data.name)
    st.session_state[LINK_CONFIG] = link.config
    st.session_state[LINK_SAMPLE] = link.sample or 0
    st.session_state[LINK_PROBLEMS] = problems


def _apply_view(link: links.Link, x: np.ndarray, names: tuple[str, ...], dataset: str) -> list[str]:
    """Seed the view's widgets from the link (they read their values from the session); return the problems.

    ``x`` (N, D) are the data's raw rows: a held value beyond the data's range, or a truck point beyond its
    sliders', is moved to the nearest end by its page, and named here as any other bad value is.
    """
    view = st.session_state.setdefault(state.VIEW, {})
    problems = []
    for axis, given, keys in (
        ("x", link.x, (state.AXIS_X + dataset, state.MAP_X)),
        ("y", link.y, (state.AXIS_Y + dataset, state.MAP_Y)),
    ):
        if given is None:
            continue
        if given not in names:
            problems.append(links.feature_problem(axis, given, names))
            continue
        view.update(dict.fromkeys(keys, given))
    if link.size is not None:
        view[state.SIZE_MEASURE] = links.SIZES[link.size]
    if link.mean is not None:
        view[state.SHOW_MEAN] = link.mean
    if link.show is not None:
        view["map_show"] = link.show
    if link.compared is not None:
        view[state.COMPARED] = link.compared
    ranges = {
        "hold": [(float(column.min()), float(column.max())) for column in x.T],
        "point": [span_range(column, links.POINT_SPANS) for column in x.T],
    }
    for name, values in (("hold", link.hold), ("point", link.point)):
        if values is None:
            continue
        if len(values) != len(names):
            problems.append(links.vector_problem(name, len(values), len(names)))
            continue
        beyond = links.range_problem(name, values, ranges[name], names)
        problems += [beyond] if beyond is not None else []
        if name == "hold":
            view[state.MAP_HOLD] = "a point I choose"
            view.update({state.HELD_VALUE + feature: value for feature, value in zip(names, values, strict=True)})
        else:
            st.session_state[state.LINK_POINT] = values
    return problems


def show_link_problems() -> None:
    """The link's unused parameters, once."""
    problems = st.session_state.pop(LINK_PROBLEMS, None)
    if problems:  # each sentence quotes the link's own text, so it is shown as plain text
        st.warning("Some of this link's parameters were not used:\n" + "\n".join(f"- {plain(p)}" for p in problems))


# The browser's address is the state: this copies it. navigator.clipboard needs a secure page (https or
# localhost); elsewhere the hidden field's text is selected and copied the older way.
_COPY_LINK = """
<button class="bnn-copy-link" type="button">Copy link</button>
<script>
for (const button of document.querySelectorAll("button.bnn-copy-link:not([data-ready])")) {
  button.dataset.ready = "1";
  button.addEventListener("click", async () => {
    const url = window.location.href;
    try {
      await navigator.clipboard.writeText(url);
    } catch (error) {
      const field = Object.assign(document.createElement("textarea"), { value: url });
      document.body.appendChild(field);
      field.select();
      document.execCommand("copy");
      field.remove();
    }
    button.textContent = "Link copied";
    setTimeout(() => { button.textContent = "Copy link"; }, 2000);
  });
}
</script>
<style>
button.bnn-copy-link { width: 100%; padding: 0.45rem; border-radius: 0.5rem; border: 1px solid #ccc;
  background: white; font: inherit; cursor: pointer; }
button.bnn-copy-link:hover { border-color: #0b5cad; color: #0b5cad; }
</style>
"""


def finish() -> None:
    """After the page: the gallery picker and Copy link in their slot, and the state in the URL."""
    with st.session_state.pop(GALLERY_SLOT):
        gallery_picker()
        st.html(_COPY_LINK, unsafe_allow_javascript=True)
    write_link()
    warm.FIRST_PAGE_DRAWN.set()


def write_link() -> None:
    """Put the run on screen, the sample, presenter mode and this page's choices into the URL."""
    run = state.current_run()
    page_params = state.page_params()
    if run is None:
        return
    params = links.settings_params(run.config, state.shown_preset())
    if state.sample_index():
        params["sample"] = str(state.sample_index())
    if state.presenting():
        params["present"] = "1"
    params.update(page_params)
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


GALLERY_SLOT = "bnn_gallery_slot"


def sidebar() -> None:
    """The gallery and presenter mode above the settings form; a Train press is trained by the page.

    The gallery is drawn last, into a slot at the top (see :func:`finish`): it shows the run on screen,
    which a first visit only knows once the page has run.
    """
    with st.sidebar:
        st.session_state[GALLERY_SLOT] = st.container()
        st.session_state.setdefault(state.PRESENT_TOGGLE, state.presenting())  # seeded here: value= would warn
        st.toggle(
            "Presenter mode",
            key=state.PRESENT_TOGGLE,
            on_change=lambda: state.set_presenting(st.session_state[state.PRESENT_TOGGLE]),
            help="No sidebar or Streamlit chrome, larger type. Keys: r resample, p play, ← → presets, 1–9 pages.",
        )
    tune.apply_finished()
    try:
        config = settings_form()
    except BNNInputError as err:
        st.sidebar.error(plain(err))
        return
    if config is not None:
        st.session_state[state.PENDING] = config
    tune.controls()


def gallery_picker() -> None:
    """Ready runs: a choice loads one at once, with a line on what to notice; ← and → step through them."""
    slugs = [preset.slug for preset in PRESETS]
    shown = state.shown_preset()
    st.session_state[GALLERY_WIDGET] = shown  # follows the run on screen, also when it changed elsewhere
    st.selectbox(
        "Gallery of ready runs",
        slugs,
        index=None,
        key=GALLERY_WIDGET,
        format_func=lambda slug: sources.preset_named(slug).title,
        placeholder="Your own run (pick one to load it)",
        on_change=lambda: show_preset(st.session_state[GALLERY_WIDGET]),
        help="Pre-trained runs that each show one idea. Loading one takes no training.",
    )
    previous, following = st.columns(2)
    # A run of one's own sits just after the preset shown last: ← goes back to that preset, → on to the next.
    last = state.last_preset()
    position = slugs.index(last) if last in slugs else -1
    back = position - 1 if shown in slugs else position
    previous.button("← Previous", key="preset_prev", width="stretch", on_click=show_preset,
                    args=(slugs[back % len(slugs)],))  # fmt: skip
    following.button("Next →", key="preset_next", width="stretch", on_click=show_preset,
                     args=(slugs[(position + 1) % len(slugs)],))  # fmt: skip


def show_preset(slug: str | None) -> None:
    """Put gallery preset ``slug`` on screen and its settings into the form (a callback: no training)."""
    if slug is None:
        return
    preset = sources.preset_named(slug)
    state.show_run(sources.gallery_run(slug), preset=slug)
    fill_form(preset.config)  # no toast: the status strip names the preset (and a first toast costs 0.3 s)


def status_strip() -> DeltaGenerator:
    """A fixed-height strip above a page's charts: what to notice, or a training's progress, without a jump."""
    height = PRESENTING_STATUS_HEIGHT if state.presenting() else STATUS_HEIGHT
    return st.container(height=height, border=False, key="status_strip")


def page_run(where: DeltaGenerator) -> TrainedRun:
    """The session's run; on a first visit the link's model (trained if nobody has it yet) or the article's."""
    run = state.current_run()
    if run is not None:
        return run
    config: RunConfig | None = st.session_state.pop(LINK_CONFIG, None)
    sample = st.session_state.pop(LINK_SAMPLE, 0)
    if config is not None and config.data.dataset in BUILTIN_DATASETS:
        try:
            with where:
                run = train_live(state.dataset_by_name(config.data.dataset), config)
        except BNNInputError as err:
            where.error(refusal(err, "The model this link names could not be trained", "the default model is shown"))
        else:
            preset = sources.preset_for(config)
            state.show_run(run, preset=preset.slug if preset else None, sample=sample, origin="From the link")
            st.session_state[state.FORM_CONFIG] = config
            return run
    state.show_run(sources.gallery_run(sources.FIRST_PRESET), preset=sources.FIRST_PRESET, sample=sample)
    return state.current_run()


def train_pending(where: DeltaGenerator, curves: DeltaGenerator | None = None) -> None:
    """Train the settings submitted with Train in ``where`` (loss curves in ``curves``), then redraw the page."""
    config: RunConfig | None = st.session_state.pop(state.PENDING, None)
    origin = st.session_state.pop(state.PENDING_ORIGIN, "Your run")
    if config is None:
        return
    try:
        run = train_live(state.dataset_by_name(config.data.dataset), config, where=where, curves=curves)
    except BNNInputError as err:
        where.error(refusal(err))
        return
    preset = sources.preset_for(config)
    state.show_run(run, preset=preset.slug if preset else None, origin=origin)
    st.rerun()


CLASSIFICATION_ONLY = (
    "**{title}** is for classification, and the run on screen is a regression of {target} on {dataset}. Its "
    "bands and sample functions are on *Train and resample* and *Uncertainty map*, its interval coverage on "
    "*Calibration*. Choose a "
    "classification dataset (iris, wine, breast_cancer, two_moons, circles) in the sidebar and press Train to use "
    "this page."
)


def run_page(
    title: str,
    heading: str,
    intro: str,
    draw: Callable[[TrainedRun], DeltaGenerator | None],
    regression: bool = True,
) -> None:
    """A whole page: its title and intro, the status strip, ``draw(run)``, then any pending training.

    ``draw`` may return a placeholder for the loss curves of a training started from the sidebar. A page that
    cannot draw a regression run (``regression=False``) says so instead, in words naming where to look.
    """
    state.carry_widgets()
    page.setup(title)
    page.title(heading)
    with st.container(key="intro"):
        st.markdown(intro)
    show_link_problems()
    status = status_strip()
    run = page_run(status)
    with status:
        message = interrupted_message()
        preset = state.shown_preset()
        if message:
            st.info(message)
        elif preset is not None:
            st.markdown(f"**{sources.preset_named(preset).title}.** {sources.preset_named(preset).notice}")
        else:
            st.markdown(run_caption(run, state.run_origin()))
    if run.task == "regression" and not regression:
        dataset = run.data.dataset
        st.info(CLASSIFICATION_ONLY.format(title=title, target=plain(dataset.target_name), dataset=plain(dataset.name)))
        curves = None
    else:
        curves = draw(run)
    train_pending(status, curves)
