"""How a command is refused: the answer carries no data and the document's status bits."""

from __future__ import annotations


class CommandError(Exception):
    """The command is refused; ``conditions`` are the status conditions its answer adds."""

    conditions: frozenset[str] = frozenset()

    def __init__(self, why: str, *extra: str) -> None:
        super().__init__(why)
        self.conditions = type(self).conditions | frozenset(extra)


class SyntaxFault(CommandError):
    """The data do not follow the command's syntax (status 0.0 in every family)."""

    conditions = frozenset({"syntax_error"})


class NotAllowed(CommandError):
    """Valid syntax, but not in the current state (status 1.1 in every family)."""

    conditions = frozenset({"not_allowed"})


class UnknownCommand(CommandError):
    """A code the device does not have (status 0.1, C doc p.5)."""

    conditions = frozenset({"invalid_command"})


class CannotPrint(CommandError):
    """A print command refused by a printer fault: the fault's own standing bit is the only sign
    (paper out, C doc p.3: "the command is rejected and has not changed the device's state")."""
