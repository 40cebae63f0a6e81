"""Test support code (never shipped): the stream harness that drives real workers, a webhook
receiver, and the dashboard seed data. Imported as ``tests.support.<module>`` from the repo root."""
