"""finsent's benchmarks: figures, never tests, and never shipped in the wheel.

Run from a source checkout with ``finsent bench inference|pipeline|ingest`` (the CLI imports
``benchmarks.<name>`` from the checkout next to the installed ``finsent`` package) or
``make bench``. Each module's ``run_*`` function returns JSON-ready figures; the CLI prints them.
The pipeline benchmark drives workers with the end-to-end tests' harness
(``tests/support/stream_harness.py``).
"""
