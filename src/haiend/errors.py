"""The one exception type that reaches a user as a sentence rather than a traceback."""


class HaiendError(Exception):
    """A problem the user can fix: bad input, a missing tool, an unwritable folder.

    The message is one sentence saying what is wrong and, where it helps, what to do.
    The command line prints it and exits with status 2; library callers can catch it.
    """
