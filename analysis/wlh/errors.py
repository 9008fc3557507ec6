"""The one error type of `wlh`: a user mistake or an unusable input, printed as one line by cli.main."""


class WlhError(Exception):
    """Message = the whole line after 'wlh: error: ' (say what is wrong and, where possible, what to do)."""
