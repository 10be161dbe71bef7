"""Built-in checks (filled in next)."""
