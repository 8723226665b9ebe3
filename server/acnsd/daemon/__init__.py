"""The running server: serving, reloads, workers, metrics, logs."""
