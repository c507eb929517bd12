"""One exception type for bad user input, so the CLI can print it without a traceback."""


class InputError(ValueError):
    """Bad input. The message names the file, line and field, so the user can fix it."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None):
        where = ""
        if path is not None:
            where = str(path)
            if line is not None:
                where += f":{line}"
            if field is not None:
                where += f" [{field}]"
            where += ": "
        elif field is not None:
            where = f"[{field}]: "
        super().__init__(where + message)
        self.path, self.line, self.field = path, line, field
