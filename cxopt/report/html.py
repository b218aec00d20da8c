"""The plan as one self-contained HTML page: the Markdown report's sections and every plot.

Nothing is loaded from anywhere: the style sheet and a four-line script are inline, the
plots are embedded as ``data:`` URIs, and a Content-Security-Policy allows images from
``data:`` only and no other script or style than those two (pinned by their hashes), so
the page works offline, by e-mail, from a file share. All user text (scenario names, ids,
owners) is HTML-escaped. The script only counts, after ``load``, the plot images that
decoded (``<body data-loaded="N" data-plots="M">``) — how tests and a reader can check that
the report rendered.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from html import escape

import numpy as np

from cxopt.report.markdown import Bullets, Paragraph, PlotSlot, Section, Table, plan_sections
from cxopt.report.plots import Plot, plan_plots

__all__ = ["plan_html", "page_html", "chosen_by"]

_CSS = """
:root { --ink: #1a202c; --muted: #4a5568; --line: #e2e8f0; --accent: #2b6cb0; --soft: #ebf4ff; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1180px; padding: 24px 28px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
nav { font-size: 13px; color: var(--muted); margin-bottom: 18px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 12px; }
.goal { background: var(--soft); border-left: 6px solid var(--accent); padding: 14px 20px 6px;
        border-radius: 4px; }
.goal h2 { border: 0; margin-top: 4px; }
.goal-statement { font-size: 19px; line-height: 1.45; font-weight: 600; margin: 0 0 14px; }
p.lead-note { color: var(--muted); }
.table-wrap { overflow-x: auto; margin: 10px 0 14px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
caption { text-align: left; font-style: italic; color: var(--muted); padding-bottom: 4px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td:first-child { min-width: 180px; }
th { background: #f7fafc; text-align: left; font-weight: 600; }
td.r, th.r { text-align: right; white-space: nowrap; }
tr.total td { font-weight: 700; border-top: 2px solid var(--muted); }
figure { margin: 14px 0 24px; }
img.plot { width: 100%; max-width: 860px; height: auto; display: block; border: 1px solid var(--line);
           border-radius: 4px; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
@media print { body { max-width: none; padding: 0; } nav { display: none; }
               figure, table { break-inside: avoid; } }
""".strip()

_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("img.plot"), n = 0;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) { n++; } }
  document.body.setAttribute("data-plots", String(imgs.length));
  document.body.setAttribute("data-loaded", String(n));
});
""".strip()


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


_CSP = (f"default-src 'none'; img-src data:; style-src '{_sha256(_CSS)}'; script-src '{_sha256(_SCRIPT)}'; "
        "base-uri 'none'; form-action 'none'")


def _table(t: Table) -> str:
    align = t.alignment()
    cls = lambda i: ' class="r"' if i < len(align) and align[i] == "r" else ""  # noqa: E731
    out = ['<div class="table-wrap"><table>']
    if t.caption:
        out.append(f"<caption>{escape(t.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th{cls(i)}>{escape(c)}</th>" for i, c in enumerate(t.columns))
               + "</tr></thead><tbody>")
    for n, row in enumerate(t.rows):
        tr = '<tr class="total">' if n in t.emphasis else "<tr>"
        out.append(tr + "".join(f"<td{cls(i)}>{escape(c)}</td>" for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _figure(p: Plot) -> str:
    uri = f"data:{p.mime};base64,{base64.b64encode(p.data).decode('ascii')}"
    return (f'<figure id="plot-{escape(p.key)}"><img class="plot" src="{uri}" alt="{escape(p.alt)}" '
            f'title="{escape(p.title)}"><figcaption>{escape(p.title)}. {escape(p.alt)}</figcaption></figure>')


def _section(s: Section, plots: dict[str, Plot], placed: set[str]) -> str:
    cls = ' class="goal"' if s.key == "goal" else ""
    out = [f'<section id="{escape(s.key)}"{cls}><h2>{escape(s.title)}</h2>']
    for b in s.blocks:
        if isinstance(b, Paragraph):
            if s.key == "goal" and b.lead == "Goal.":
                out.append(f'<p class="goal-statement" id="goal-statement">{escape(b.text)}</p>')
            else:
                lead = f"<strong>{escape(b.lead)}</strong> " if b.lead else ""
                out.append(f"<p>{lead}{escape(b.text)}</p>")
        elif isinstance(b, Bullets):
            out.append("<ul>" + "".join(f"<li>{escape(x)}</li>" for x in b.items) + "</ul>")
        elif isinstance(b, Table):
            out.append(_table(b))
        elif isinstance(b, PlotSlot) and b.key in plots:
            out.append(_figure(plots[b.key]))
            placed.add(b.key)
    out.append("</section>")
    return "\n".join(out)


def plan_html(d: dict, frontier: dict | None = None, trials: Mapping[str, np.ndarray] | None = None, *,
              image_format: str = "svg") -> str:
    """One self-contained HTML page for a plan (``Plan.to_dict()``).

    Parameters
    ----------
    d : dict
        The plan's plain-dict form.
    frontier : dict, optional
        A budget frontier (``report.summary.frontier_summary``): adds its table and plot.
    trials : {"baseline": array, "portfolio": array}, optional
        Retained revenue per trial; the value distribution is then a pair of histograms
        (otherwise bands drawn from the P10/P50/P90 summaries).
    image_format : "svg" or "png"
    """
    from cxopt.version import __version__

    sections = plan_sections(d, frontier)
    plots = plan_plots(d, frontier=frontier, trials=trials, fmt=image_format)
    chosen = f"Portfolio chosen by {chosen_by(d)}."
    footer = (f"Generated by cxopt {__version__} from {d['trials']:,} trials (seed {d['seed']}, "
              f"{d['mode']}). This page is self-contained: it loads nothing from the network.")
    return page_html(f"CX plan — {d['scenario']}", sections, plots, footer, lead=chosen)


def chosen_by(d: dict) -> str:
    """The objective that chose the plan's portfolio, in words, from the plan's ``solver`` — the words
    plan.md's "How the portfolio was chosen" and the terminal give (``objective_text``, e.g.
    ``"expected value (margin x retained revenue + savings - cost)"``; plans written before the value
    objective: the risk form ``"mean"`` or ``"cvar:ALPHA:BETA"``)."""
    s = d.get("solver") or {}
    return s.get("objective_text") or s.get("objective", "mean")


def page_html(title: str, sections: Sequence[Section], plots: Mapping[str, Plot], footer: str,
              lead: str = "") -> str:
    """The report's page shell around ``sections``: head with the CSP, style and load script, nav, footer.

    Every ``PlotSlot`` in a section is filled from ``plots`` (by key); plots no section places
    go to a last "More plots" section. ``title`` and ``footer`` are plain text (escaped here),
    like every text in the sections. Used by the plan report and the tracking page
    (``report/tracking.py``), so both share one CSP, style sheet and image-count script. ``lead``
    (plain text, optional) is a line under the title (the plan: which objective chose the portfolio).
    """
    plots = dict(plots)
    placed: set[str] = set()
    body = [_section(s, plots, placed) for s in sections]
    rest = [p for k, p in plots.items() if k not in placed]
    if rest:
        figures = "".join(_figure(p) for p in rest)
        body.append(f'<section id="plots"><h2>More plots</h2>{figures}</section>')
    nav = "".join(f'<a href="#{escape(s.key)}">{escape(s.title)}</a>' for s in sections)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="cxopt">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style>",
        f"<script>{_SCRIPT}</script>",
        "</head>",
        '<body data-loaded="0">',
        f"<header><h1>{escape(title)}</h1>"
        + (f'<p class="lead-note" id="lead-note">{escape(lead)}</p>' if lead else "") + "</header>",
        f"<nav>{nav}</nav>",
        "<main>",
        *body,
        "</main>",
        f"<footer>{escape(footer)}</footer>",
        "</body>",
        "</html>",
        "",
    ])
