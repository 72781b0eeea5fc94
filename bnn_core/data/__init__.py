"""Data in: the built-in sets, a user's CSV, the checks on rows, the split and the scalers."""
