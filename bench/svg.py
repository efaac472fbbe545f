"""Tiny dependency-free SVG line charts (static plots that render on GitHub without Chrome or matplotlib)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")


@dataclass
class Series:
    name: str
    x: Sequence[float]
    y: Sequence[float]
    width: float = 1.6


@dataclass
class Panel:
    title: str
    series: list[Series]
    x_label: str
    y_label: str
    y_range: tuple[float, float] | None = None
    hline: float | None = None


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) >= 0.01 or v == 0 else f"{v:.0e}"


def render(panels: list[Panel], title: str, width: int = 420, height: int = 300) -> str:
    """Panels side by side, one shared legend (by series name, same colour in every panel)."""
    names: list[str] = []
    for p in panels:
        for s in p.series:
            if s.name not in names:
                names.append(s.name)
    colour = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    legend_h = 22
    total_w, total_h = width * len(panels), height + 40 + legend_h
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" '
            f'viewBox="0 0 {total_w} {total_h}" font-family="sans-serif" font-size="11">'),
           f'<rect width="{total_w}" height="{total_h}" fill="white"/>',
           f'<text x="{total_w / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{escape(title)}</text>']
    for k, p in enumerate(panels):
        out.append(_panel(p, colour, k * width, 30, width, height))
    x = 10.0
    for n in names:
        y = total_h - 8
        out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" stroke="{colour[n]}" stroke-width="3"/>')
        out.append(f'<text x="{x + 22}" y="{y}">{escape(n)}</text>')
        x += 30 + 7 * len(n)
    out.append("</svg>")
    return "\n".join(out)


def _panel(p: Panel, colour: dict[str, str], ox: float, oy: float, w: float, h: float) -> str:
    left, right, top, bottom = 52, 12, 22, 38
    xs = [v for s in p.series for v in s.x if math.isfinite(v)]
    ys = [v for s in p.series for v in s.y if math.isfinite(v)]
    if not xs:
        return ""
    x0, x1 = min(xs), max(xs)
    y0, y1 = p.y_range if p.y_range else (min(ys + [0.0]), max(ys) * 1.05 if ys and max(ys) > 0 else 1.0)
    sx = lambda v: ox + left + (v - x0) / ((x1 - x0) or 1) * (w - left - right)
    sy = lambda v: oy + top + (1 - (v - y0) / ((y1 - y0) or 1)) * (h - top - bottom)
    parts = [f'<text x="{ox + w / 2}" y="{oy + 12}" text-anchor="middle" font-weight="bold">{escape(p.title)}</text>',
             (f'<rect x="{ox + left}" y="{oy + top}" width="{w - left - right}" height="{h - top - bottom}" '
              f'fill="none" stroke="#999"/>')]
    for t in _ticks(x0, x1):
        parts.append(f'<line x1="{sx(t)}" y1="{oy + h - bottom}" x2="{sx(t)}" y2="{oy + top}" stroke="#eee"/>')
        parts.append(f'<text x="{sx(t)}" y="{oy + h - bottom + 13}" text-anchor="middle">{_fmt(t)}</text>')
    for t in _ticks(y0, y1):
        parts.append(f'<line x1="{ox + left}" y1="{sy(t)}" x2="{ox + w - right}" y2="{sy(t)}" stroke="#eee"/>')
        parts.append(f'<text x="{ox + left - 4}" y="{sy(t) + 4}" text-anchor="end">{_fmt(t)}</text>')
    if p.hline is not None and y0 <= p.hline <= y1:
        parts.append(f'<line x1="{ox + left}" y1="{sy(p.hline)}" x2="{ox + w - right}" y2="{sy(p.hline)}" '
                     f'stroke="#444" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{ox + left + (w - left - right) / 2}" y="{oy + h - 6}" text-anchor="middle">'
                 f'{escape(p.x_label)}</text>')
    parts.append(f'<text transform="translate({ox + 12},{oy + top + (h - top - bottom) / 2}) rotate(-90)" '
                 f'text-anchor="middle">{escape(p.y_label)}</text>')
    for s in p.series:
        pts = [(sx(a), sy(b)) for a, b in zip(s.x, s.y) if math.isfinite(a) and math.isfinite(b)]
        if pts:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour[s.name]}" '
                         f'stroke-width="{s.width}"/>')
            parts.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2" fill="{colour[s.name]}"/>' for a, b in pts)
    return "\n".join(parts)
