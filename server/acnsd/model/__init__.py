"""The account → nameserver set → zone model: loading, rules, state."""
