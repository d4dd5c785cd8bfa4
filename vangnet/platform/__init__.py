"""Platform plumbing every process needs: settings, structured logging, the Temporal client and its converter."""
