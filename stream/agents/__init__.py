"""Faust agents of the stream stage, one per module.

* :mod:`stream.agents.scoring` -- raw articles -> batched inference -> PostgreSQL -> scored topic.
"""

from finsent.stream.agents.scoring import AGENT_NAME, register_scoring_agent

__all__ = ["AGENT_NAME", "register_scoring_agent"]
