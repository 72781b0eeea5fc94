"""The one error type a user of the dashboard, the CLI or the API can cause."""


class BNNInputError(ValueError):
    """A setting, data file or run directory that the engine refuses.

    The message is a single sentence for a newcomer: it names what is wrong and
    what is allowed. The dashboard shows it with ``st.error``; the command line
    prints it and exits with code 2. Catch ``ValueError`` to handle it generically.
    """
