"""finsent: real-time financial news sentiment monitor (app shell: settings, CLI, embedded runtime).

Stages (`ingest`, `stream`, `models`, `storage`, `alerts`, `dashboards`) may import the two leaf
modules `finsent.core.errors` and `finsent.core.settings`; only `finsent.cli` and `finsent.runtime` wire the
stages together.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
