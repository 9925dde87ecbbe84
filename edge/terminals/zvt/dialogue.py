"""One command's exchange with the PT, as the ECR sees it.

Spec §2.2 (authorisation sequence, the model for every booking command): the ECR sends the command, the
PT acknowledges ``80 00 00`` (or refuses ``84 xx``, and nothing happens); then the PT leads: intermediate
status ``04 FF`` (§2.2.4), status information ``04 0F`` (§2.2.6), print lines ``06 D1`` / text blocks
``06 D3`` (§2.2.8), and finally Completion ``06 0F`` (§2.2.10) or Abort ``06 1E <result-code>``. The ECR
acknowledges each of them with ``80 00 00`` (Portalum ZvtClientTest: "CommandCompletionForStatusInformation").
Each PT message re-arms the idle timer, as Portalum's SendCommandAsync does on intermediate status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.terminals.zvt.apdu import ACK, Apdu, is_ack, nak_code
from edge.terminals.zvt.bmp import MalformedApdu, StatusInformation, status_information
from edge.terminals.zvt.link import ZvtLink

INTERMEDIATE, STATUS, PRINT_LINE, TEXT_BLOCK, COMPLETION, ABORT = (0x04, 0xFF), (0x04, 0x0F), (0x06, 0xD1), (0x06, 0xD3), (0x06, 0x0F), (0x06, 0x1E)


class Refused(Exception):
    """The PT answered the command with ``84 xx``: it did not start it."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the card terminal refused the command (84 {code:02X})")
        self.code = code


@dataclass
class Outcome:
    completed: bool
    abort_code: int | None = None
    status: StatusInformation | None = None
    completion: bytes = b""
    receipt: list[str] = field(default_factory=list)
    intermediate: list[int] = field(default_factory=list)


def exchange(link: ZvtLink, request: Apdu, *, ack_timeout: float, idle_timeout: float) -> Outcome:
    """Run ``request`` to its end. Raises Refused, or (after the request left) LinkDown, LinkSilent or MalformedApdu."""
    link.send(request)
    first = link.receive(ack_timeout)
    if (code := nak_code(first)) is not None:
        raise Refused(code)
    if not is_ack(first):
        raise MalformedApdu(f"expected 80 00 00 after {request}, got {first}")
    outcome = Outcome(completed=False)
    while True:
        message = link.receive(idle_timeout)
        kind = message.command
        if kind == INTERMEDIATE:
            outcome.intermediate.append(message.data[0] if message.data else 0xFF)
        elif kind == STATUS:
            outcome.status = status_information(message)
        elif kind == PRINT_LINE:
            outcome.receipt.append(message.data[1:].decode("cp437", "replace") if message.data else "")
        elif kind == TEXT_BLOCK:
            pass  # receipts as TLV text blocks: acknowledged, not kept
        elif kind == COMPLETION:
            outcome.completed, outcome.completion = True, message.data
        elif kind == ABORT:
            outcome.abort_code = message.data[0] if message.data else None
        else:
            raise MalformedApdu(f"unexpected {message} during {request}")
        link.send(ACK)
        if kind in (COMPLETION, ABORT):
            return outcome
