"""Vangnet's services around the workflows, one sub-package per concern (see docs/architecture.md).

From the top down: ``cli`` (commands), ``stack`` (starting and wiring the system), ``services`` (domain services
the API and worker share), ``storage`` (the event log, its projections and the case documents), ``rulebooks``
(the operator's dated rule books and the working-day calendar), ``platform`` (settings, logging, the Temporal
client) and ``security`` (tokens, keys, the payload codec, access logging, sharing policies).
"""
