"""Domain services that the API and the worker share: callback intake, reports, retention and its schedule."""
