"""SQL migrations of the history DB, applied in file-name order (see history.migrations)."""
