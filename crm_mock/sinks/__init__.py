"""Where generated tables go: the Parquet table store and the service database writers."""
