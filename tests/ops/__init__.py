"""Operations tests: metrics, logs, privileges and the container image (issue 5)."""
