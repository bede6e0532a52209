"""YAML text -> a validated Spec: loading, the schema, defaults and wiring, shape inference, static range
prediction, upgrades and the resolved view.
"""
