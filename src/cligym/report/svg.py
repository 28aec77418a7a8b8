"""Small inline-SVG charts (pure string rendering, no external assets or scripts)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import pairwise

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    unit: str = "",
    width: int = 640,
    bar_height: int = 20,
    fmt: str = "{:g}",
) -> str:
    """Horizontal bars, one per label, with the value printed at the end of each bar."""
    label_w = min(300, 16 + 8 * max((len(lb) for lb in labels), default=4))
    plot_w = width - label_w - 70
    top = max(values, default=0) or 1
    height = 30 + bar_height * len(labels) + 10
    rows = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 30 + i * bar_height
        w = max(1.0, plot_w * value / top) if value else 0.0
        color = PALETTE[i % len(PALETTE)] if len(labels) <= len(PALETTE) else PALETTE[0]
        rows.append(
            f'<text x="{label_w - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{bar_height - 4}" '
            f'fill="{color}"><title>{escape(label)}: {fmt.format(value)}{unit}</title></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height * 0.7:.1f}">'
            f"{fmt.format(value)}{escape(unit)}</text>"
        )
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><text x="0" y="16" class="title">{escape(title)}</text>'
        + "".join(rows)
        + ("" if labels else '<text x="0" y="40">no data</text>')
        + "</svg>"
    )


def histogram(
    title: str, values: Sequence[float], bins: Sequence[float], *, unit: str = "", fmt: str = "{:g}"
) -> str:
    """Counts of values per [bins[i], bins[i+1]) interval, as a bar chart."""
    labels, counts = [], []
    for lo, hi in pairwise(bins):
        labels.append(f"{fmt.format(lo)} to {fmt.format(hi)}{unit}")
        counts.append(float(sum(lo <= v < hi for v in values)))
    return bar_chart(title, labels, counts)
