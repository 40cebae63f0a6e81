"""Exceptions of the models package, split by what the caller should do."""

from __future__ import annotations

from finsent.core.errors import BadDataError, ConfigError, FinsentError

__all__ = [
    "DataFormatError",
    "EmptyTextError",
    "EntitySpanError",
    "ModelLoadError",
    "ModelsError",
    "RegistryError",
]


class ModelsError(FinsentError):
    """Root of the errors raised by :mod:`models`."""


class EmptyTextError(BadDataError, ModelsError):
    """A text to score is empty or whitespace only (dead-letter it)."""


class DataFormatError(BadDataError, ModelsError):
    """A dataset file cannot be read at all (wrong format, missing column)."""


class ModelLoadError(ConfigError, ModelsError):
    """A model version directory is missing or incomplete."""


class RegistryError(ModelsError):
    """A registry operation is impossible (unknown version, nothing to roll back to)."""


class EntitySpanError(BadDataError, ModelsError):
    """An entity span lies outside its text or is empty (sanitise spans before scoring)."""
