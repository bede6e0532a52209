"""Results -> what a user reads: text, JSON, GitHub annotations, SARIF (output formats by name in
renderers.py), the references, and pictures.
"""
