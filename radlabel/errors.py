"""Exceptions the CLI turns into one clear line (no traceback), and the exit codes it uses.

Exit codes of every `radlabel` verb:

    0    all ok
    1    some reports failed (the count is printed; they are retried on the next run)
    2    bad input (file, line and field are named)
    3    an operating-system error reading or writing a file (permission, disk full, ...), or
         the output file is locked by another run
    130  interrupted (Ctrl-C); what was written is kept, re-run the same command to resume
"""

EXIT_OK = 0
EXIT_REPORTS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_OS_ERROR = 3
EXIT_INTERRUPTED = 130


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


class OutputLocked(RuntimeError):
    """Another process holds the writer lock on an output file."""

    def __init__(self, path: str, holder: str | None = None):
        who = f"another process ({holder})" if holder else "another process"
        super().__init__(f"{path}: {who} is writing to this file; wait for it to finish or "
                         "choose another -o")
        self.path, self.holder = path, holder


class Interrupted(Exception):
    """Ctrl-C during a run, raised once the work done is safely written; the message says how
    much was kept and how to go on. Not a KeyboardInterrupt, so that click does not turn it
    into a bare exit code and lose the message; the CLI exits 130 with it."""

    def __init__(self, message: str, summary=None):
        super().__init__(message)
        self.summary = summary


def encoding_hint(head: bytes) -> str:
    """What to tell a user whose file is not UTF-8, judged from its first bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 4 and head.count(0) * 4 >= len(head)):
        return "the file looks like UTF-16; save it as UTF-8 (e.g. `iconv -f utf-16 -t utf-8 in.csv > out.csv`)"
    return "save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)"
