"""Where `finsent bench ...` finds the benchmarks: ``benchmarks/`` of a source checkout.

Benchmarks are not part of the installed package. An editable install (``pip install -e .``)
runs ``finsent`` from the checkout, so ``benchmarks/`` sits next to the ``finsent`` package; an
installed wheel has none, and the bench commands say so.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import finsent
from finsent.core.errors import FinsentError

__all__ = ["load_benchmark"]

#: Folders of a source checkout the benchmarks import from: ``benchmarks/`` itself, and ``tests/``
#: (the pipeline benchmark drives workers with ``tests/support/stream_harness.py``).
_CHECKOUT_PACKAGES = ("benchmarks", "tests")


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks.<name>`` from the source checkout the running finsent lives in.

    ``benchmarks`` and ``tests`` are bound to the checkout; its root goes at the end of
    ``sys.path``, so its stage folders (``models/``, ``storage/``...) never shadow installed modules.

    Args:
        name: The benchmark module (``inference``, ``pipeline``, ``ingest``).

    Raises:
        FinsentError: finsent runs from an installed wheel, which has no benchmarks.
    """
    root = Path(finsent.__file__).resolve().parents[1]
    if not (root / "benchmarks" / "__init__.py").is_file() or not (root / "pyproject.toml").is_file():
        raise FinsentError(
            f"benchmarks need a source checkout of finsent (there is none next to {root / 'finsent'}): "
            "clone the repository, `pip install -e .` it and run `finsent bench ...` from there"
        )
    for package in _CHECKOUT_PACKAGES:
        if package not in sys.modules:
            _bind(package, root)
    if str(root) not in sys.path:
        # Last, so whatever is installed wins over the checkout's folders; needed by benchmarks that
        # spawn processes (multiprocessing's spawn re-imports ``benchmarks.<name>`` in the child).
        sys.path.append(str(root))
    _first_if_shadowed(root)
    return importlib.import_module(f"benchmarks.{name}")


def _first_if_shadowed(root: Path) -> None:
    """Put the checkout first on ``sys.path`` when an installed top-level ``benchmarks`` or
    ``tests`` package would shadow its own (pysbd's wheel ships a ``benchmarks`` package):
    spawned measuring processes import ``benchmarks.<name>`` by ``sys.path`` order."""
    for package in _CHECKOUT_PACKAGES:
        spec = importlib.machinery.PathFinder.find_spec(package, sys.path)
        where = list(spec.submodule_search_locations or []) if spec is not None else []
        if where and Path(where[0]).resolve() != root / package:
            sys.path.remove(str(root))
            sys.path.insert(0, str(root))
            return


def _bind(package: str, root: Path) -> None:
    """Import the top-level ``package`` from ``root`` (and only from there)."""
    spec = importlib.machinery.PathFinder.find_spec(package, [str(root)])
    if spec is None:
        raise FinsentError(f"{root / package} is missing from the source checkout")
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    if spec.loader is not None:  # None: a namespace package (``tests/`` has no __init__.py)
        spec.loader.exec_module(module)
