"""Security and personal data: bearer tokens, the key vault, the payload codec, the access log, sharing policies."""
