"""The one exception bad input raises: the whole file is refused, with the reason in words."""


class FileRefused(Exception):
    """The whole file is refused; the message says why in plain words a manager understands."""
