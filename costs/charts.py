"""A server-rendered SVG bar chart of daily spend against the daily budget (no JavaScript, no
CDN): one bar per day, red when over budget, the budget as a dashed line."""

from decimal import Decimal

from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT = 640, 170
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 12, 24


def spend_chart_svg(days, budget):
    """days: [(date, usd)] oldest first; budget: the daily budget in USD."""
    budget = Decimal(budget)
    peak = max([usd for _, usd in days] + [budget, Decimal("0.01")]) * Decimal("1.1")
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(days), 1)

    def y(usd):
        return TOP + plot_height - float(usd / peak) * plot_height

    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: ${}</title></rect>',
        (
            (
                f"{LEFT + index * slot + 1:.1f}",
                f"{y(usd):.1f}",
                f"{max(slot - 2, 1):.1f}",
                f"{TOP + plot_height - y(usd):.1f}",
                "#c0392b" if usd > budget else "#2f80ed",
                day.isoformat(),
                f"{usd:.2f}",
            )
            for index, (day, usd) in enumerate(days)
        ),
    )
    first = days[0][0].isoformat() if days else ""
    last = days[-1][0].isoformat() if days else ""
    return format_html(
        '<svg class="vg-chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" role="img" aria-label="Daily spend, last {n} days">'
        '<rect x="{l}" y="{t}" width="{pw}" height="{ph}" fill="#f8f9fa" stroke="#dee2e6"/>'
        "{bars}"
        '<line x1="{l}" x2="{r}" y1="{by}" y2="{by}" stroke="#b7791f" '
        'stroke-width="1.5" stroke-dasharray="5,3"/>'
        '<text x="{lt}" y="{byt}" font-size="10" text-anchor="end" fill="#b7791f">'
        "${budget}</text>"
        "{peak_label}"
        '<text x="{lt}" y="{bt}" font-size="10" text-anchor="end" fill="#6c757d">$0</text>'
        '<text x="{l}" y="{h1}" font-size="10" fill="#6c757d">{first}</text>'
        '<text x="{r}" y="{h1}" font-size="10" text-anchor="end" fill="#6c757d">{last}</text>'
        "</svg>",
        w=WIDTH,
        h=HEIGHT,
        n=len(days),
        l=LEFT,
        t=TOP,
        pw=plot_width,
        ph=plot_height,
        bars=bars,
        r=WIDTH - RIGHT,
        by=f"{y(budget):.1f}",
        byt=f"{y(budget) + 3:.1f}",
        lt=LEFT - 4,
        bt=TOP + plot_height,
        budget=f"{budget:.0f}",
        # The top label only where it does not sit on the budget's.
        peak_label=format_html(
            '<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#6c757d">${}</text>',
            LEFT - 4,
            TOP + 8,
            f"{peak:.0f}",
        )
        if y(budget) - TOP > 14
        else "",
        h1=HEIGHT - 8,
        first=first,
        last=last,
    )
