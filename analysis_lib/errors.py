"""User-facing errors: each prints as one line that names the file and the field."""


class WorkbookError(Exception):
    """Base class of errors that the CLI reports as one line and a non-zero exit."""

    exit_code = 1


class ParamsError(WorkbookError):
    """A params file is unreadable or does not match its notebook's schema."""

    exit_code = 2


class DataError(WorkbookError):
    """The data source is missing, or a table or column does not match the canonical model."""

    exit_code = 3


class RunError(WorkbookError):
    """The notebook failed while executing, or the report could not be written."""

    exit_code = 4
