"""monitor: watches government and news sources for new releases and alerts people."""

import os

__version__ = "0.1.0"

# pydantic looks for plugins (observability hooks; monitor uses none) by reading the
# metadata of every installed distribution when the first model is built: ~35 ms at each
# start of each command. An operator who wants them sets the variable (e.g. to 0).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
