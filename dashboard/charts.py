"""Chart figures as plain dicts (no go.Figure: building one per call costs milliseconds and
serialises plotly's whole default template). Colours are the Okabe-Ito colour-blind-safe set;
SPC special causes differ in marker shape as well as colour. Every value drawn comes from a
report record the audience may see, so hover text never shows more than the tables do."""

from __future__ import annotations

from typing import Any

from dashboard import labels
from kpi.disclosure import SUPPRESSED

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000")
IMPROVEMENT, CONCERN, COMMON = "#0072B2", "#D55E00", "#6B6B6B"
TARGET = "#8B0000"
TEMPLATE = {
    "layout": {
        "font": {"family": "Arial, Helvetica, sans-serif", "size": 13, "color": "#212b32"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": list(PALETTE),
        "xaxis": {"gridcolor": "#e8edee", "linecolor": "#768692", "automargin": True},
        "yaxis": {"gridcolor": "#e8edee", "linecolor": "#768692", "automargin": True},
        "hoverlabel": {"font": {"family": "Arial, Helvetica, sans-serif"}},
    }
}


def _shown(value: Any) -> float | None:  # noqa: ANN401
    return None if value in (None, SUPPRESSED) else value


def _layout(title: str, y_title: str, **extra: Any) -> dict[str, Any]:  # noqa: ANN401
    return {
        "template": TEMPLATE,
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "margin": {"l": 56, "r": 16, "t": 48, "b": 48},
        "height": 340,
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.2},
        "hovermode": "x unified",
        **extra,
    }


def spc(chart: dict[str, Any], title: str, unit: str) -> dict[str, Any]:
    """An XmR chart: values, mean, process limits, 2-sigma band, target; special-cause points
    marked improvement (blue circles) or concern (orange diamonds)."""
    points = chart["points"]
    x = [p["period"] for p in points]
    y = [_shown(p["value"]) for p in points]
    fmt = "%{y:.1f}" + unit
    traces: list[dict[str, Any]] = [
        _line(x, [p.get("upper") for p in points], "Upper process limit", COMMON, "dash"),
        _line(x, [p.get("mean") for p in points], "Mean", "#212b32"),
        _line(x, [p.get("lower") for p in points], "Lower process limit", COMMON, "dash"),
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Value",
            "x": x,
            "y": y,
            "line": {"color": COMMON, "width": 2},
            "marker": {"color": COMMON, "size": 7},
            "hovertemplate": fmt + "<extra>Value</extra>",
        },
    ]
    for kind, colour, symbol in (
        ("improvement", IMPROVEMENT, "circle"),
        ("concern", CONCERN, "diamond"),
        ("neutral", "#CC79A7", "square"),
    ):
        marked = [(p["period"], _shown(p["value"])) for p in points if p.get("variation") == kind]
        if marked:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": f"Special cause: {kind}",
                    "x": [m[0] for m in marked],
                    "y": [m[1] for m in marked],
                    "marker": {"color": colour, "size": 11, "symbol": symbol},
                    "hovertemplate": fmt + f"<extra>{kind}</extra>",
                }
            )
    if chart.get("target") is not None:
        traces.append(_line(x, [chart["target"]] * len(x), "Target", TARGET, "dot"))
    label = " (trial limits: fewer than 12 months)" if chart.get("trial") else ""
    return {"data": traces, "layout": _layout(title + label, unit.strip() or "count")}


def _line(x: list, y: list, name: str, colour: str, dash: str = "solid") -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": y,
        "line": {"color": colour, "width": 1.5, "dash": dash},
        "hovertemplate": "%{y:.1f}<extra>" + name + "</extra>",
    }


def bars(
    categories: list[str],
    series: list[tuple[str, list[Any]]],
    title: str,
    y_title: str,
    stacked: bool = False,
    line_at: float | None = None,
) -> dict[str, Any]:
    """Grouped (or stacked) bars of `series` [(name, values)] over `categories` (codes are
    shown in words). `line_at`: a vertical marker between categories (e.g. the 72 h line)."""
    x = [labels.group(c) for c in categories]
    traces = [
        {
            "type": "bar",
            "name": name,
            "x": x,
            "y": [_shown(v) for v in values],
            "marker": {"color": PALETTE[i % len(PALETTE)]},
            "hovertemplate": "%{x}: %{y}<extra>" + name + "</extra>",
        }
        for i, (name, values) in enumerate(series)
    ]
    layout = _layout(title, y_title, barmode="stack" if stacked else "group")
    layout["hovermode"] = "closest"
    if line_at is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "x0": line_at,
                "x1": line_at,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": TARGET, "width": 2, "dash": "dot"},
            }
        ]
    if len(series) == 1:
        layout["showlegend"] = False
    return {"data": traces, "layout": layout}


def sparkline(values: list[Any]) -> dict[str, Any]:
    """A small trend line for an Overview card (no axes, no hover)."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "y": [_shown(v) for v in values],
                "line": {"color": "#005eb8", "width": 2},
                "hoverinfo": "skip",
            }
        ],
        "layout": {
            "template": TEMPLATE,
            "height": 48,
            "margin": {"l": 0, "r": 0, "t": 4, "b": 4},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "showlegend": False,
        },
    }
