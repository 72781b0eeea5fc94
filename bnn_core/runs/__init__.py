"""Runs on disk and in memory: the run folder, loading and restoring it, zips, exports, the cache, the gallery."""
