"""Typer command modules, one per command group. Only this package and ``cli.py`` import typer."""
