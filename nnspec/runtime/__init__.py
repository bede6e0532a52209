"""A Spec run on data, batch by batch: data sources, parameters, the plan of a batch, the runner.

Not named ``run``: ``nnspec.run`` is the public function, and importing a subpackage ``nnspec.run``
would set the package's attribute ``run`` to the subpackage.
"""
