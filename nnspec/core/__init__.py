"""Shared values every stage uses: diagnostics and their codes, numbers, printable text, close-match
suggestions, the range estimate static analysis passes along. Imports no other part of nnspec.
"""
