"""The control plane (issue 16): the model index, the changes and their scoped checks."""
