"""The agent's typed tools: plain functions over greenrunner_core (catalog, selection, user_metrics) and their
langchain wrappers in ``tools.agent_tools`` (``TOOLS``, ``STAGED_TOOLS``)."""
