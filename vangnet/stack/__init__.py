"""Starting and wiring the whole system: the embedded servers, the API's runtime context, the scenario rehearsal."""
