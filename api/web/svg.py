"""Charts drawn on the server as SVG (no chart library, no script): the lifecycle diagram of a
record, laid out from its transition table with the current state highlighted, and bar charts.
Text is escaped here: these strings go into the page as markup."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

STATE_W, STATE_H, COL_GAP, ROW_GAP, PAD = 176, 34, 56, 22, 16
ACCENT, LINE, TEXT, MUTED, HOT = "#0b4f9c", "#9aa4b1", "#1b1f24", "#4a5360", "#a1161b"


def _columns(table: dict[str, Any]) -> list[list[str]]:
    """States in columns by their distance from the initial state (unreached ones last)."""
    nexts: dict[str, list[str]] = {s: [] for s in table["states"]}
    for t in table["transitions"]:
        if t["to"] != t["from"]:
            nexts[t["from"]].append(t["to"])
    depth = {table["initial"]: 0}
    queue = deque([table["initial"]])
    while queue:
        state = queue.popleft()
        for n in nexts[state]:
            if n not in depth:
                depth[n] = depth[state] + 1
                queue.append(n)
    last = max(depth.values(), default=0) + 1
    columns: list[list[str]] = [[] for _ in range(last + 1)]
    for s in table["states"]:
        columns[depth.get(s, last)].append(s)
    return [c for c in columns if c]


def lifecycle_svg(table: dict[str, Any], current: str, allowed: Sequence[str]) -> Markup:
    """The lifecycle as boxes and arrows. The current state is filled; the transitions the
    record may take now are drawn bold (the page lists them in words: labels on the arrows
    would overlap)."""
    columns = _columns(table)
    where: dict[str, tuple[float, float]] = {}
    for i, column in enumerate(columns):
        for j, state in enumerate(column):
            where[state] = (PAD + i * (STATE_W + COL_GAP), PAD + j * (STATE_H + ROW_GAP))
    width = PAD * 2 + len(columns) * STATE_W + (len(columns) - 1) * COL_GAP
    height = PAD * 2 + max(len(c) for c in columns) * (STATE_H + ROW_GAP) + 20
    terminal = set(table["terminal"])
    timers = {e["name"] for e in table["events"] if e["source"] == "timer"}
    now = [
        t
        for t in table["transitions"]
        if t["from"] == current and (t["event"] in allowed or t["event"] in timers)
    ]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="lc-title lc-desc" '
        f'class="lifecycle">',
        f'<title id="lc-title">{escape(table["name"])} lifecycle, now in state '
        f"{escape(current)}</title>",
        '<desc id="lc-desc">'
        + escape(
            "From here: "
            + (
                "; ".join(
                    f"{t['event']} to {t['to']}"
                    + (" (when its clock fires)" if t["event"] in timers else "")
                    for t in now
                )
                or "nothing (a final state)"
            )
        )
        + "</desc>",
        "<defs>"
        f'<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        f'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{LINE}"/></marker>'
        f'<marker id="arrow-now" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" '
        f'markerHeight="10" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{ACCENT}"/></marker>'
        "</defs>",
    ]
    drawn: set[tuple[str, str]] = set()
    for t in sorted(table["transitions"], key=lambda t: t in now):
        a, b = t["from"], t["to"]
        hot = t in now
        if a == b or ((a, b) in drawn and not hot):
            continue
        drawn.add((a, b))
        (x1, y1), (x2, y2) = where[a], where[b]
        if x2 > x1:
            sx, sy, ex, ey = x1 + STATE_W, y1 + STATE_H / 2, x2, y2 + STATE_H / 2
        elif x2 < x1:
            sx, sy, ex, ey = x1, y1 + STATE_H / 2, x2 + STATE_W, y2 + STATE_H / 2
        else:
            sx, sy = x1 + STATE_W * 0.7, (y1 + STATE_H if y2 > y1 else y1)
            ex, ey = x2 + STATE_W * 0.7, (y2 if y2 > y1 else y2 + STATE_H)
        mx = (sx + ex) / 2 + (0 if x1 != x2 else 40)
        colour, width_, marker = (ACCENT, 2.5, "arrow-now") if hot else (LINE, 1, "arrow")
        parts.append(
            f'<path d="M{sx:.0f},{sy:.0f} C{mx:.0f},{sy:.0f} {mx:.0f},{ey:.0f} {ex:.0f},{ey:.0f}" '
            f'fill="none" stroke="{colour}" stroke-width="{width_}" marker-end="url(#{marker})"'
            f"><title>{escape(t['event'])}: {escape(a)} to {escape(b)}</title></path>"
        )
    for state, (x, y) in where.items():
        is_now = state == current
        fill = ACCENT if is_now else "#ffffff"
        ink = "#ffffff" if is_now else TEXT
        stroke = ACCENT if is_now else (MUTED if state in terminal else LINE)
        dash = ' stroke-dasharray="4 2"' if state in terminal and not is_now else ""
        parts.append(
            f'<g class="state{" current" if is_now else ""}" data-state="{escape(state)}">'
            f'<rect x="{x}" y="{y}" width="{STATE_W}" height="{STATE_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{3 if is_now else 1.5}"{dash}/>'
            f'<text x="{x + STATE_W / 2}" y="{y + STATE_H / 2 + 4}" font-size="12" '
            f'text-anchor="middle" fill="{ink}" font-weight="{700 if is_now else 400}">'
            f"{escape(state.replace('_', ' '))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar
    value: int
    title: str  # the full sentence for the tooltip and screen readers


def bar_chart_svg(
    bars: Sequence[Bar], *, title: str, height: int = 180, bar_width: int = 22, gap: int = 6
) -> Markup:
    """Vertical bars scaled to the largest value (each bar's height is value / max * `height`,
    in whole pixels, so a test can check it), a label under every third bar."""
    top = max((b.value for b in bars), default=0) or 1
    left, bottom = 36, 40
    width = left + len(bars) * (bar_width + gap) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + bottom + 10}" '
        f'width="{width}" height="{height + bottom + 10}" role="img" aria-label="{escape(title)}" '
        f'class="bars">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{height + 5}" x2="{width - 5}" y2="{height + 5}" '
        f'stroke="{MUTED}"/>',
        f'<text x="{left - 6}" y="{12}" font-size="11" text-anchor="end" fill="{MUTED}">'
        f"{top}</text>",
        f'<text x="{left - 6}" y="{height + 5}" font-size="11" text-anchor="end" '
        f'fill="{MUTED}">0</text>',
    ]
    for i, bar in enumerate(bars):
        h = round(bar.value / top * (height - 10))
        x = left + gap + i * (bar_width + gap)
        y = height + 5 - h
        parts.append(
            f'<rect class="bar" x="{x}" y="{y}" width="{bar_width}" height="{h}" '
            f'fill="{ACCENT}" data-label="{escape(bar.label)}" data-value="{bar.value}">'
            f"<title>{escape(bar.title)}</title></rect>"
        )
        if bar.value:
            parts.append(
                f'<text x="{x + bar_width / 2}" y="{y - 3}" font-size="10" text-anchor="middle" '
                f'fill="{TEXT}">{bar.value}</text>'
            )
        if i % 3 == 0:
            parts.append(
                f'<text x="{x + bar_width / 2}" y="{height + 20}" font-size="10" '
                f'text-anchor="middle" fill="{MUTED}">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def moves_from(lifecycle: Any, current: str, allowed: Sequence[str]) -> list[tuple[str, str, bool]]:
    """The transitions open from `current`: (event, target state, is a timer's), allowed
    operator events first, as the diagram draws them bold."""
    table = lifecycle.describe()
    timers = {e["name"] for e in table["events"] if e["source"] == "timer"}
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str, bool]] = []
    for t in table["transitions"]:
        key = (t["event"], t["to"])
        if t["from"] == current and (t["event"] in allowed or t["event"] in timers):
            if key not in seen:
                seen.add(key)
                out.append((t["event"], t["to"], t["event"] in timers))
    return sorted(out, key=lambda m: m[2])
