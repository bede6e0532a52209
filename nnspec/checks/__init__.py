"""What the statistics of a run mean: mergeable statistics, the range checks (one module per family,
the table assembled in table.py) and the `checks:` settings. Below spec/: the table is a catalog the
spec language refers to, as the layer catalog is.
"""
