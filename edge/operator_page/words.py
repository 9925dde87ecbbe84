"""Each warning code (DESIGN §5) in words a cashier understands: what is wrong and what to do."""

from __future__ import annotations

WARNING_WORDS: dict[str, str] = {
    "W_DEVICE_UNREACHABLE": "The printer does not answer. Check that it is switched on and its cable is plugged in.",
    "W_PAPER_OUT": "The printer is out of paper. Put in a new roll.",
    "W_PAPER_NEAR_END": "The paper roll is nearly finished. Have a new roll ready.",
    "W_COVER_OPEN": "The printer cover is open. Close it.",
    "W_Z_REPORT_DUE": "Close the day soon (Z report): the printer stops selling 24 hours after the day began.",
    "W_Z_REPORT_BY_DEVICE": "The printer closed the day by itself (a Z report this till did not ask for).",
    "W_CLOCK_DRIFT": "The printer's clock is wrong. Ask the manager to set the time.",
    "W_CLOCK_NOT_SET": "The printer's clock is not set. Ask the manager to set the time.",
    "W_CLOCK_BATTERY_LOW": "The printer's clock battery is low. Call the service technician.",
    "W_FISCAL_MEMORY_NEAR_FULL": "The fiscal memory is almost full. Call the service technician soon.",
    "W_FISCAL_MEMORY_FULL": "The fiscal memory is full: no more receipts. Call the service technician.",
    "W_FISCAL_MEMORY_ERROR": "The fiscal memory reports an error. Call the service technician.",
    "W_JOURNAL_NEAR_FULL": "The electronic journal is almost full. Call the service technician soon.",
    "W_JOURNAL_FULL": "The electronic journal is full: no more receipts. Call the service technician.",
    "W_TAX_TERMINAL_FAULT": "The printer cannot reach the tax office's terminal. Call the service technician.",
    "W_DOCUMENTS_NOT_SENT": "The printer has not sent its receipts to the tax office for too long. Check its internet.",
    "W_PRINTER_FAULT": "The printing unit reports a fault. Switch the printer off and on; if it stays, call service.",
    "W_PRINTHEAD_OVERHEATED": "The print head is too hot. Let the printer rest a few minutes.",
    "W_CUTTER_FAULT": "The paper cutter is stuck. Open the cover and clear it.",
    "W_RAM_RESET": "The printer lost its working memory. Call the service technician before selling.",
}


def in_words(code: str) -> str:
    """The sentence for a warning; a code this page does not know yet is shown as the printer reports it."""
    return WARNING_WORDS.get(code, f"The printer reports {code}.")
