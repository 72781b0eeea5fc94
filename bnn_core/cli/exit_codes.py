"""The command line's exit codes, shared by the parser, :func:`bnn_core.cli.main` and the commands."""

OK = 0
USAGE_ERROR = 2  # a mistake the user can fix: one line on stderr, nothing written
INTERRUPTED = 130  # Ctrl-C, reported as a shell reports SIGINT (128 + 2)
