"""The Vyper sources of the engine, shipped as package data (see compiler.py)."""
