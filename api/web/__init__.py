"""The web application for social workers, claim handlers and coordinators: Dutch pages served by the API's app.

Every page reads the same read models and runs the same steps (Temporal updates) as the JSON API; nothing here
has a second path to the data. ``site.mount`` is the only thing ``api.app`` needs.
"""

from __future__ import annotations
