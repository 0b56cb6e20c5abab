"""monitor: watches government and news sources for new releases and alerts people."""

__version__ = "0.1.0"
