"""The operator CLI `rbn`."""
