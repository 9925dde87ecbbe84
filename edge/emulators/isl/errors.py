"""How a command is refused: the answer carries no data and the document's status bits.

Datecs X answers a refusal with a negative error code as its only field (X doc p.5), but a syntax error or an
unknown command with no data at all (p.4). The X doc lists no error numbers (p.26: "Code of the error (negative
number)", explained by 64h); ``x_code`` is this emulator's number for each kind of refusal, ``X_MESSAGES`` its text.
"""

from __future__ import annotations


class CommandError(Exception):
    """The command is refused; ``conditions`` are the status conditions its answer adds."""

    conditions: frozenset[str] = frozenset()
    x_code = -111000

    def __init__(self, why: str, *extra: str) -> None:
        super().__init__(why)
        self.conditions = type(self).conditions | frozenset(extra)


class SyntaxFault(CommandError):
    """The data do not follow the command's syntax (status 0.0 in every family)."""

    conditions = frozenset({"syntax_error"})


class NotAllowed(CommandError):
    """Valid syntax, but not in the current state (status 1.1 in every family)."""

    conditions = frozenset({"not_allowed"})
    x_code = -111001


class UnknownCommand(CommandError):
    """A code the device does not have (status 0.1, C doc p.5)."""

    conditions = frozenset({"invalid_command"})


class CannotPrint(CommandError):
    """A print command refused by a printer fault: the fault's own standing bit is the only sign
    (paper out, C doc p.3: "the command is rejected and has not changed the device's state")."""

    x_code = -111002


X_MESSAGES = {
    CommandError.x_code: "Command failed",
    NotAllowed.x_code: "Command is not permitted now",
    CannotPrint.x_code: "The printer cannot print",
}
