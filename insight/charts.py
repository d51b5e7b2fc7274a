"""Server-rendered SVG charts for the dashboard (no JavaScript, nothing from a CDN).

Each function returns one ``<svg>`` element as text, with every label escaped,
a ``role="img"`` and an ``aria-label``, and a ``data-chart`` attribute naming
the chart (the browser tests look for it). Sizes are in CSS pixels; the SVG
scales to its container through its ``viewBox``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: verdict colours, also used by the page's legend
VERDICT_COLORS = {
    "accepted": "#2e7d32",
    "wrong_answer": "#c62828",
    "runtime_error": "#ef6c00",
    "time_limit_exceeded": "#6a1b9a",
    "memory_limit_exceeded": "#283593",
    "output_limit_exceeded": "#00838f",
    "syntax_error": "#ad1457",
    "internal_error": "#616161",
}
#: shown where a chart has nothing to show
EMPTY = "\u2013"
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Bar:
    """One labelled value of a bar chart (``value`` within the chart's 0..maximum)."""

    label: str
    value: float
    note: str = ""


def _svg(name: str, title: str, width: int, height: int, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" data-chart="{escape(name)}" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" style="max-width:{width}px">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def horizontal_bars(
    name: str,
    title: str,
    bars: Sequence[Bar],
    *,
    maximum: float = 1.0,
    percent: bool = True,
    color: str = "#1565c0",
    width: int = 640,
) -> str:
    """A horizontal bar per item (labels left, value at the bar's end)."""
    row, label_w, top = 22, 190, 8
    height = top * 2 + row * max(len(bars), 1)
    plot_w = width - label_w - 70
    body = []
    if not bars:
        body.append(f'<text x="10" y="24" {FONT} fill="#666">{EMPTY}</text>')
    for i, bar in enumerate(bars):
        y = top + i * row
        share = 0.0 if maximum <= 0 else max(0.0, min(1.0, bar.value / maximum))
        shown = f"{bar.value:.0%}" if percent else f"{bar.value:g}"
        if bar.note:
            shown += f" {bar.note}"
        body.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" {FONT}>'
            f"{escape(_clip(bar.label, 28))}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{plot_w}" height="14" fill="#eceff1"/>'
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{plot_w * share:.1f}" '
            f'height="14" fill="{color}"><title>{escape(bar.label)}: {escape(shown)}</title></rect>'
            f'<text x="{label_w + plot_w * share + 4:.1f}" y="{y + 15}" {FONT}>{escape(shown)}</text>'
        )
    return _svg(name, title, width, height, body)


def columns(
    name: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    width: int = 640,
    height: int = 220,
) -> str:
    """Grouped columns per label; ``series`` is ``(name, colour, values)``, with a legend."""
    left, bottom, top = 36, 34, 24
    plot_h = height - bottom - top
    plot_w = width - left - 10
    peak = max([v for _, _, values in series for v in values] + [1])
    slot = plot_w / max(len(labels), 1)
    bar_w = max(2.0, slot * 0.8 / max(len(series), 1))
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#90a4ae"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" {FONT}>{peak:g}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" {FONT}>0</text>',
    ]
    for s, (series_name, color, _) in enumerate(series):
        x = left + s * 110
        body.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="13" {FONT}>{escape(series_name)}</text>'
        )
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for s, (series_name, color, values) in enumerate(series):
            value = values[i]
            h = plot_h * value / peak
            body.append(
                f'<rect class="bar" x="{x0 + s * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
                f"<title>{escape(label)} {escape(series_name)}: {value:g}</title></rect>"
            )
        if i % every == 0:
            body.append(
                f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - 14}" '
                f'text-anchor="middle" {FONT}>{escape(label)}</text>'
            )
    return _svg(name, title, width, height, body)


def stacked_bars(
    name: str,
    title: str,
    rows: Sequence[tuple[str, dict[str, int]]],
    labels: dict[str, str],
    *,
    width: int = 640,
) -> str:
    """One 100% stacked bar per row (verdict counts), coloured by :data:`VERDICT_COLORS`."""
    row, label_w, top = 22, 190, 30
    height = top + 8 + row * max(len(rows), 1)
    plot_w = width - label_w - 20
    body = []
    used = [k for k in VERDICT_COLORS if any(counts.get(k) for _, counts in rows)]
    x = 4
    for key in used:
        text = labels.get(key, key)
        body.append(
            f'<rect x="{x}" y="6" width="10" height="10" fill="{VERDICT_COLORS[key]}"/>'
            f'<text x="{x + 14}" y="15" {FONT}>{escape(text)}</text>'
        )
        x += 24 + 7 * len(text) + (6 * sum(ord(c) > 0x2E80 for c in text))
    if not rows:
        body.append(f'<text x="10" y="{top + 14}" {FONT} fill="#666">{EMPTY}</text>')
    for i, (label, counts) in enumerate(rows):
        y = top + i * row
        total = sum(counts.values())
        body.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" {FONT}>'
            f"{escape(_clip(label, 28))}</text>"
        )
        offset = 0.0
        for key in VERDICT_COLORS:
            n = counts.get(key, 0)
            if not n or not total:
                continue
            w = plot_w * n / total
            body.append(
                f'<rect class="bar" x="{label_w + offset:.1f}" y="{y + 4}" width="{w:.1f}" '
                f'height="14" fill="{VERDICT_COLORS[key]}">'
                f"<title>{escape(label)} {escape(labels.get(key, key))}: {n}</title></rect>"
            )
            offset += w
    return _svg(name, title, width, height, body)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
