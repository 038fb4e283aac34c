"""Vyper library modules of the engine."""
