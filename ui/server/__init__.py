"""What the server runs beside the pages: the janitor of closed and idle sessions, background jobs, the warm-up."""
