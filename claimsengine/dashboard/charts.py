"""Charts drawn on the server as SVG: no script, no library, no network."""

from __future__ import annotations

from collections.abc import Sequence

from claimsengine.dashboard.markup import Markup, cents, esc
from claimsengine.days import from_day

__all__ = ["nice_ceiling", "pool_chart"]

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 14, 40


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten (in cents, from 1.00) that is at
    least ``value``, so the axis reads in round amounts."""
    scale = 10
    while True:
        for step in (10, 20, 25, 50):
            if value <= step * scale:
                return step * scale
        scale *= 10


def pool_chart(
    days: Sequence[int], balances: Sequence[int], payments: Sequence[int], *, title: str
) -> Markup:
    """The pool's balance (a step line) and each day's payments (bars), over chain days.

    ``days`` are day numbers in order; the three sequences have one value per day."""
    if not days:
        return Markup('<p class="empty">No money has moved in this pool yet.</p>')
    first, last = days[0], days[-1]
    top = nice_ceiling(max([*balances, *payments, 1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = last - first + 1  # half a day of room on each side, for the first and last bars

    def x(day: float) -> float:
        return LEFT + (day - first + 0.5) / span * plot_w

    def y(value: int) -> float:
        return TOP + plot_h - max(value, 0) / top * plot_h

    bar = max(min(plot_w / span * 0.6, 18), 2)
    bars = "".join(
        f'<rect x="{x(d) - bar / 2:.1f}" y="{y(p):.1f}" width="{bar:.1f}" '
        f'height="{TOP + plot_h - y(p):.1f}" fill="#e39b2d"><title>'
        f"{esc(from_day(d).isoformat())}: paid {esc(cents(p))}</title></rect>"
        for d, p in zip(days, payments, strict=True)
        if p
    )
    points = [f"{x(days[0]):.1f},{y(balances[0]):.1f}"]
    for index in range(1, len(days)):
        points.append(f"{x(days[index]):.1f},{y(balances[index - 1]):.1f}")
        points.append(f"{x(days[index]):.1f},{y(balances[index]):.1f}")
    points.append(f"{LEFT + plot_w:.1f},{y(balances[-1]):.1f}")
    dots = "".join(
        f'<circle cx="{x(d):.1f}" cy="{y(b):.1f}" r="3" fill="#1f5fa8"><title>'
        f"{esc(from_day(d).isoformat())}: balance {esc(cents(b))}</title></circle>"
        for d, b in zip(days, balances, strict=True)
    )
    base = TOP + plot_h
    grid = "".join(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(top * i // 4):.1f}" '
        f'y2="{y(top * i // 4):.1f}" stroke="#e3e7ec"/>'
        f'<text x="{LEFT - 6}" y="{y(top * i // 4) + 4:.1f}" text-anchor="end">'
        f"{esc(cents(top * i // 4))}</text>"
        for i in range(5)
    )
    labels = (
        f'<text x="{x(first):.1f}" y="{base + 18}" text-anchor="middle">'
        f"{esc(from_day(first).isoformat())}</text>"
        + (
            f'<text x="{x(last):.1f}" y="{base + 18}" text-anchor="middle">'
            f"{esc(from_day(last).isoformat())}</text>"
            if last > first
            else ""
        )
    )
    legend = (
        f'<rect x="{LEFT}" y="{HEIGHT - 14}" width="10" height="10" fill="#1f5fa8"/>'
        f'<text x="{LEFT + 14}" y="{HEIGHT - 5}">pool balance</text>'
        f'<rect x="{LEFT + 120}" y="{HEIGHT - 14}" width="10" height="10" fill="#e39b2d"/>'
        f'<text x="{LEFT + 134}" y="{HEIGHT - 5}">paid that day</text>'
    )
    summary = (
        f"{len(days)} chain days from {from_day(first).isoformat()} to "
        f"{from_day(days[-1]).isoformat()}; balance now {cents(balances[-1])}; "
        f"paid in all {cents(sum(payments))}"
    )
    return Markup(
        f'<svg role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'style="max-width:{WIDTH}px" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(title)}</title><desc>{esc(summary)}</desc>{grid}{bars}"
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#1f5fa8" '
        f'stroke-width="2"/>{dots}'
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{base}" y2="{base}" stroke="#5a6675"/>'
        f"{labels}{legend}</svg>"
    )
