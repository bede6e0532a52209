"""Pictures of a spec and of a run: the layer graph, per-layer plots and an HTML report.

    graph.py       boxes, their layered layout, DOT text (no dependency), SVG/PNG (matplotlib)
    histogram.py   the statistics' histograms spread over evenly spaced bins, for plotting
    ranges.py      where a layer type saturates, and its curve, from the catalog
    plots.py       one figure a layer: what it received, its curve, what it gave (matplotlib)
    html.py        one self-contained HTML file: graph, table, findings, plots
    style.py       the colours of the severities and of the shaded ranges
    paths.py       checks on the files pictures go to, made before a run
    extra.py       matplotlib, the ``plot`` extra, imported only when a picture needs it

Nothing here runs a spec or judges it: the pictures read a Spec, its findings and a
RunResult's statistics, the same data the text and JSON reports read.
"""
