"""Synthetic finance news for the embedded mode and load tests, with plantable events."""

from finsent.ingest.demo.feed import DemoCompany, DemoFeed, DemoItem, PlantedEvent, Tone, write_corpus

__all__ = ["DemoCompany", "DemoFeed", "DemoItem", "PlantedEvent", "Tone", "write_corpus"]
