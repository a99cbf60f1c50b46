"""The one error type of the data package: a message that names the file and the problem."""


class DataError(Exception):
    """A data set or file could not be found, read or verified (the message says where)."""
