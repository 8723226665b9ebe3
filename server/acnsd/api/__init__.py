"""The management API: HTTP, tokens, resources and edits of the configuration."""
