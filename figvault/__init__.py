"""figvault: every figure in your PDF reports and PPTX decks, findable by a plain question."""

__version__ = "0.1.0"
