"""joinedup: survey exports to published statistics; Just One Question answers to coded themes.

Data flows one way: ingest -> clean -> validate -> route -> tables -> report. Nothing here imports
the CLI (typer lives in the root-level ``cli.py``).
"""

__version__ = "0.3.0"
