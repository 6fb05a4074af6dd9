"""The errors a user can cause and fix: each carries one line naming the file or setting and the fix.

Command-line tools print them as `prog: error: message` (`common.cli`); anything
else is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """A bad input, path or setting; the message says which and what to do."""


class ConfigError(UserError):
    """A setting or path the user gave cannot work; the message says which and why."""


class PredictError(UserError):
    """An input or checkpoint cannot be used for prediction; the message names the file and the problem."""


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (libraries' messages run to pages), or its type's name."""
    text = str(error).strip()
    return text.splitlines()[0][:limit] if text else type(error).__name__
