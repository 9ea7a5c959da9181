"""Daily operation: audit of writing runs, stable owner ids, watches, incremental runs."""
