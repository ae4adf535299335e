"""Every text colour of the web app's stylesheet meets WCAG 2.1 AA (4.5:1) on the background it
is drawn on (api/web/static/app.css)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "api" / "web" / "static" / "app.css").read_text()
COLOURS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))

# (text, background) as the stylesheet pairs them.
PAIRS = [
    ("text", "bg"),
    ("text", "panel"),
    ("muted", "bg"),
    ("muted", "panel"),
    ("accent", "bg"),
    ("accent-text", "accent"),
    ("bad", "bad-bg"),
    ("warn", "warn-bg"),
    ("ok", "ok-bg"),
]


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_meets_aa_contrast(text: str, background: str) -> None:
    assert contrast(COLOURS[text], COLOURS[background]) >= 4.5


def test_the_month_bucket_and_the_svg_inks_meet_aa_too() -> None:
    assert contrast(COLOURS["accent"], "#e6eef8") >= 4.5  # .bucket-month
    assert contrast("#ffffff", "#0b4f9c") >= 4.5  # the current state in the diagram
    assert contrast("#4a5360", "#ffffff") >= 4.5  # chart axis labels


def test_the_contrast_function_is_right() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#ffffff") < 4.5  # a grey that fails AA
