"""What a page looks like to a room, measured in the browser: where the charts are, whether the page scrolls, and
text in charts that overlaps other text or is cut off.

Plotly draws a chart as SVG: its title (``.gtitle``), axis titles (``.xtitle``, ``.y2title``, …), annotations,
colour-bar titles, legend items and text on bars or points are ``<text>`` elements whose boxes the browser knows.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every visible chart's box, and how far the page scrolls.
GEOMETRY_JS = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const charts = Array.from(document.querySelectorAll('.js-plotly-plot'))
        .map(div => ({ title: ((div.layout && div.layout.title && div.layout.title.text) || '').replace(/<[^>]*>/g, ''),
                       box: div.getBoundingClientRect().toJSON() }))
        .filter(chart => chart.box.height > 0 && chart.box.width > 0);
    const strip = document.querySelector('.st-key-status_strip');
    return { charts, scroll: main.scrollHeight - main.clientHeight, height: window.innerHeight,
             width: window.innerWidth, documentHeight: document.documentElement.scrollHeight,
             stripOverflow: strip ? strip.scrollHeight - strip.clientHeight : 0 };
}"""

# Text in every visible chart: each label's box, what kind it is, the trace it belongs to; and the visible markers.
# Tick labels are obstacles for the labels, not for each other (plotly thins those itself).
CHART_TEXT_JS = r"""() => {
    const kinds = [
        ['title', 'text.gtitle'], ['axis title', 'text[class$="title"]:not(.gtitle):not(.legendtitletext)'],
        ['annotation', 'g.annotation text'], ['legend', 'g.legend text'], ['on data', 'text.bartext, g.textpoint text'],
        ['tick', 'g.xtick text, g.ytick text, g[class*="tick"] > text, g.colorbar g.tick text, g.cbaxis text'],
    ];
    const round = (box) => ({ left: box.left, top: box.top, right: box.right, bottom: box.bottom });
    return Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => {
        const frame = div.querySelector('.svg-container');
        if (!frame || div.getBoundingClientRect().height === 0) return null;
        const seen = new Set();
        const texts = [];
        for (const [kind, selector] of kinds) {
            for (const el of div.querySelectorAll(selector)) {
                if (seen.has(el)) continue;
                seen.add(el);
                const content = el.textContent.trim();
                const box = el.getBoundingClientRect();
                if (!content || box.width === 0 || getComputedStyle(el).visibility === 'hidden') continue;
                if (el.closest('[style*="opacity: 0"]')) continue;
                const trace = el.closest('g.trace');
                const turned = /rotate\(-?90/.test(el.getAttribute('transform') || '');
                texts.push({ kind, content, box: round(box), size: turned ? box.width : box.height,
                             trace: trace ? Array.from(trace.parentNode.children).indexOf(trace) + ':'
                                 + trace.parentNode.getAttribute('class') : null });
            }
        }
        const markers = [];
        for (const point of div.querySelectorAll('g.scatterlayer g.trace path.point')) {
            const style = getComputedStyle(point);
            if (Number(style.opacity) === 0 || style.display === 'none') continue;
            const opacity = Number(point.style.opacity || 1);
            const box = point.getBoundingClientRect();
            if (opacity === 0 || box.width === 0) continue;
            const trace = point.closest('g.trace');
            markers.push({ box: round(box), trace: Array.from(trace.parentNode.children).indexOf(trace) + ':'
                + trace.parentNode.getAttribute('class') });
        }
        const title = ((div.layout && div.layout.title && div.layout.title.text) || '').replace(/<[^>]*>/g, '');
        return { title, frame: round(frame.getBoundingClientRect()), texts, markers };
    }).filter(Boolean);
}"""

# HTML text that the browser cut off with an ellipsis: metric labels, button and tab labels.
CUT_HTML_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] *'))
    .filter(el => getComputedStyle(el).textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1)
    .filter(el => el.textContent.trim() && el.getBoundingClientRect().width > 0)
    .map(el => el.textContent.trim())"""


def slide_problems(geometry: dict, name: str) -> list[str]:
    """One sentence per way the page in ``geometry`` (:data:`GEOMETRY_JS`) is not a slide: it scrolls, a chart is
    not wholly on screen, or the strip above the charts cuts its text."""
    problems = []
    if geometry["scroll"] > TOLERANCE or geometry["documentHeight"] > geometry["height"]:
        problems.append(f"{name}: the page scrolls by {geometry['scroll']} px")
    if geometry["stripOverflow"] > TOLERANCE:
        problems.append(f"{name}: the strip above the charts cuts {geometry['stripOverflow']} px of its text")
    screen = Box(0, 0, geometry["width"], geometry["height"])
    for chart in geometry["charts"]:
        box = chart["box"]
        if not Box(box["left"], box["top"], box["right"], box["bottom"]).inside(screen):
            problems.append(f"{name}: {chart['title'] or 'a chart'} is at {box['top']:.0f}-{box['bottom']:.0f} px")
    return problems


TOLERANCE = 1.0  # px: boxes that merely touch do not overlap
SMALLEST_TEXT = 11.0  # px: the height of a line of text (across it, if turned) too small to read from the back


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        return (
            min(self.right, other.right) - max(self.left, other.left) > TOLERANCE
            and min(self.bottom, other.bottom) - max(self.top, other.top) > TOLERANCE
        )

    def inside(self, other: Box) -> bool:
        return (
            self.left >= other.left - TOLERANCE
            and self.top >= other.top - TOLERANCE
            and self.right <= other.right + TOLERANCE
            and self.bottom <= other.bottom + TOLERANCE
        )


LABELS = ("title", "axis title", "annotation", "legend", "on data")


def chart_text_problems(charts: list[dict]) -> list[str]:
    """One sentence per overlap, cut-off or unreadably small text in ``charts`` (as :data:`CHART_TEXT_JS` reads
    them)."""
    problems = []
    for chart in charts:
        frame = Box(**chart["frame"])
        name = chart["title"] or "an untitled chart"
        texts = [(text, Box(**text["box"])) for text in chart["texts"]]
        for text, box in texts:
            if not box.inside(frame):
                problems.append(f"{name}: the {text['kind']} {text['content']!r} is cut off by the chart's edge")
            if text["size"] < SMALLEST_TEXT:
                problems.append(f"{name}: the {text['kind']} {text['content']!r} is {text['size']:.0f} px tall")
        for i, (text, box) in enumerate(texts):
            for other, other_box in texts[i + 1 :]:
                labels = [kind in LABELS for kind in (text["kind"], other["kind"])]
                if not any(labels) or text["kind"] == other["kind"] == "legend" or not box.overlaps(other_box):
                    continue
                problems.append(
                    f"{name}: the {text['kind']} {text['content']!r} overlaps the {other['kind']} {other['content']!r}"
                )
            if text["kind"] == "on data":
                for marker in chart["markers"]:
                    if marker["trace"] != text["trace"] and box.overlaps(Box(**marker["box"])):
                        problems.append(f"{name}: the label {text['content']!r} overlaps a marker")
                        break
    return problems


NAV_LINK = '[data-testid="stTopNavLink"]'


def visit(page: object, key: int, timeout_ms: float = 120_000) -> None:
    """Open page number ``key`` (1–9) by its key, as a speaker would, and wait until it is drawn and still."""
    page.wait_for_function(f"() => window.__bnnKeys && document.querySelector('{NAV_LINK}')", timeout=timeout_ms)
    page.locator("h1").first.click()
    page.keyboard.press(str(key))
    page.wait_for_function(
        f"k => document.querySelectorAll('{NAV_LINK}')[k - 1].getAttribute('aria-current') === 'page'",
        arg=key,
        timeout=timeout_ms,
    )
    settle(page, timeout_ms)


def settle(page: object, timeout_ms: float = 120_000) -> dict:
    """Wait until the script run is over and the page's charts stop moving (plotly sizes them after drawing);
    return their geometry (:data:`GEOMETRY_JS`)."""
    # Before a session's first run starts the app also reads "not running", with placeholders where elements go.
    page.wait_for_function(
        """() => document.querySelector('[data-test-script-state="notRunning"]')
            && !document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]')""",
        timeout=timeout_ms,
    )
    last = None
    for _ in range(int(timeout_ms / 250)):
        now = page.evaluate(GEOMETRY_JS)
        if now == last:
            return now
        last = now
        page.wait_for_timeout(250)
    raise TimeoutError("the page's charts kept moving")
