"""The ISL dialects and Datecs X, as data: which models speak which, and what differs between them.

C doc = bg.isl.dt.c.protocol-v2.04BG-bg (Datecs DP-05, DP-25, DP-35, WP-50, DP-150);
P doc = bg.isl.dt.p.protocol-v1.00BG-en (Datecs FP-800, FP-2000, FP-650, SK1-21F, SK1-31F, FMP-10, FP-550);
Daisy doc = bg.isl.dy.protocol-v1.0-bg (Daisy eXpert, Perfect, Compact);
X doc = bg.isl.dt.x.protocol-v2.02-en (Datecs FP-700X, FMP-350X, FMP-55X, WP-500X, WP-50X, DP-25X, DP-150X).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from edge.emulators.isl.status import (
    C_LAYOUT,
    DAISY_LAYOUT,
    P_LAYOUT,
    X_LAYOUT,
    StatusLayout,
)

CYRILLIC_GROUPS = "АБВГДЕЖЗ"  # cp1251 C0h-C7h
LATIN_GROUPS = "ABCDEFGH"


class UnknownModel(ValueError):
    """The model is not one of the emulated families'."""


@dataclass(frozen=True)
class Family:
    key: str
    manufacturer: str
    models: tuple[str, ...]
    layout: StatusLayout
    serial_prefix: str
    seq_range: range
    repeat_needs_same_cmd: bool
    max_data: int
    operators: range
    password_digits: tuple[int, int]
    factory_password: Callable[[int], str]
    tax_letters: str  # each accepted letter, its group being its index modulo 8
    payment_codes: dict[str, str]
    item_text_max: int  # bytes per sale text line
    item_text_truncates: bool
    fiscal_text_max: int  # 36h: longer text is cut (C doc p.15, P doc p.20, Daisy doc p.18)
    service_text_max: int
    service_text_truncates: bool
    total_text_max: int  # 35h text lines
    total_text_truncates: bool
    max_sales: int | None
    amounts_in_stotinki: bool
    cancel_command: int
    wrong_password: tuple[str, ...]
    x_protocol: bool = False  # the Datecs X frame, TAB-separated fields and error codes (X doc pp.3-5)


# Rates of the eight groups. The documents name the groups А-З and leave their rates to command
# 53h/60h (C doc p.1, p.20; Daisy doc p.29-30); these are the Bulgarian ones (А 0 %, Б 20 %,
# В 20 %, Г 9 %), the other four disabled: "DT" (C doc p.11) or -1.00 (Daisy doc p.30).
DEFAULT_VAT_GROUPS: tuple[Decimal | None, ...] = (Decimal("0.00"), Decimal("20.00"), Decimal("20.00"), Decimal("9.00"), None, None, None, None)

C_FAMILY = Family(
    key="C",
    manufacturer="Datecs",
    models=("DP-05", "DP-25", "DP-35", "WP-50", "DP-150"),  # C doc p.1 title
    layout=C_LAYOUT,
    serial_prefix="DT",
    seq_range=range(0x20, 0x80),  # C doc p.5
    repeat_needs_same_cmd=False,  # C doc p.5: the same SEQ alone repeats the last answer
    max_data=213,
    operators=range(1, 31),  # C doc p.10
    password_digits=(1, 8),  # C doc p.10
    factory_password=str,  # C doc p.23: after initialisation the passwords equal the operator numbers
    tax_letters=CYRILLIC_GROUPS,  # C doc p.1, p.11
    # C doc p.13: P cash, N credit, C debit card, D НЗОК (health fund), I voucher, J coupon.
    payment_codes={"P": "cash", "N": "credit", "C": "card", "D": "nzok", "I": "voucher", "J": "coupon"},
    item_text_max=22,  # C doc p.11
    item_text_truncates=False,
    fiscal_text_max=36,  # C doc p.15
    service_text_max=40,  # C doc p.8
    service_text_truncates=False,
    total_text_max=42,  # C doc p.13
    total_text_truncates=False,
    max_sales=120,  # C doc p.11
    amounts_in_stotinki=True,
    cancel_command=0x3C,  # C doc p.16
    wrong_password=("not_allowed",),
)

P_FAMILY = Family(
    key="P",
    manufacturer="Datecs",
    models=("FP-800", "FP-2000", "FP-650", "SK1-21F", "SK1-31F", "FMP-10", "FP-550"),  # P doc p.1 title
    layout=P_LAYOUT,
    serial_prefix="DT",
    seq_range=range(0x20, 0x80),  # P doc p.7
    repeat_needs_same_cmd=False,  # P doc p.7
    max_data=213,
    operators=range(1, 17),  # P doc p.16
    password_digits=(4, 8),  # P doc p.16
    factory_password=lambda _operator: "0000",  # P doc p.31: after initialisation all passwords are "0000"
    tax_letters=CYRILLIC_GROUPS + LATIN_GROUPS,  # P doc p.1: Latin A-H accepted as input too
    # P doc p.19-20.
    payment_codes={
        "P": "cash", "N": "credit", "C": "check", "D": "card",
        "I": "programmable1", "J": "programmable2", "K": "programmable3", "L": "programmable4",
        "i": "programmable1", "j": "programmable2", "k": "programmable3", "l": "programmable4",
        "m": "coupons", "n": "external_coupons", "o": "packing", "p": "internal_service",
        "q": "damages", "r": "bank_transfer", "s": "check",
    },
    item_text_max=42,  # P doc p.17
    item_text_truncates=False,
    fiscal_text_max=46,  # P doc p.20 cuts what does not fit a line; ErpNet.FP (BgDatecsPIslFiscalPrinterDriver.cs) uses 46
    service_text_max=46,  # P doc p.13: cut the same way
    service_text_truncates=True,
    total_text_max=36,  # P doc p.19
    total_text_truncates=False,
    max_sales=512,  # P doc p.17
    amounts_in_stotinki=False,
    cancel_command=0x3C,  # P doc p.22
    wrong_password=("not_allowed",),
)

# Daisy's device constants (#COMMENT_LEN#, #OPER_MAX_CNT#...) are per device and read with 80h
# (Daisy doc p.40-41); these are this emulator's.
DAISY_CHARS_PER_LINE = 32
DAISY_COMMENT_LEN = 30
DAISY_NAME_LEN = 22
DAISY_OPERATORS = 20

DAISY_FAMILY = Family(
    key="DAISY",
    manufacturer="Daisy",
    models=("eXpert SX", "eXpert L", "eXpert 01", "Perfect M", "Perfect S", "Compact M", "Compact S"),
    layout=DAISY_LAYOUT,
    serial_prefix="DY",
    seq_range=range(0x20, 0x100),  # Daisy doc p.3
    repeat_needs_same_cmd=True,  # Daisy doc p.4: same SEQ and CMD as the previous correct message
    max_data=200,  # Daisy doc p.3
    operators=range(1, DAISY_OPERATORS + 1),
    password_digits=(1, 6),  # Daisy doc p.13: "up to 6 digits"
    # Daisy doc p.31 leaves the factory passwords to the user manual; ErpNet.FP (BgDaisyIslFiscalPrinter.cs)
    # defaults to operator 1 password "1" and administrator 20 password "9999".
    factory_password=lambda operator: "9999" if operator == DAISY_OPERATORS else str(operator),
    tax_letters=CYRILLIC_GROUPS,  # Daisy doc p.15
    # Daisy doc p.17: P cash, N payment 1, C payment 2, D or U payment 3, B or E payment 4; named as
    # ErpNet.FP (BgDaisyIslFiscalPrinter.Commands.cs) maps them: N check, C card.
    payment_codes={"P": "cash", "N": "check", "C": "card", "D": "payment3", "U": "payment3", "B": "payment4", "E": "payment4"},
    item_text_max=DAISY_COMMENT_LEN,  # Daisy doc p.15: longer texts are cut
    item_text_truncates=True,
    fiscal_text_max=DAISY_COMMENT_LEN,  # Daisy doc p.18
    service_text_max=DAISY_COMMENT_LEN,  # Daisy doc p.10
    service_text_truncates=True,
    total_text_max=DAISY_COMMENT_LEN,  # Daisy doc p.18
    total_text_truncates=True,
    max_sales=None,  # Daisy doc p.15 names a maximum without its value
    amounts_in_stotinki=False,
    cancel_command=0x82,  # Daisy doc p.41
    wrong_password=("not_allowed", "wrong_password"),  # Daisy doc p.5: 1.6 wrong password
)

# The X doc gives no print width per model; the narrowest, FMP-55X, prints 32 columns (ErpNet.FP
# BgDatecsXIslFiscalPrinterDriver.cs), and texts are up to PrintColumns-2 (X doc p.7, p.12).
X_TEXT_COLUMNS = 30

X_FAMILY = Family(
    key="X",
    manufacturer="Datecs",
    # X doc p.1; FP-700 and DP-25MX as the seed names the X generation of those models.
    models=("FP-700X", "FMP-350X", "FMP-55X", "WP-500X", "WP-50X", "DP-25X", "DP-150X", "FP-700", "DP-25MX"),
    layout=X_LAYOUT,
    serial_prefix="DT",
    seq_range=range(0x20, 0x100),  # X doc p.4
    repeat_needs_same_cmd=False,  # X doc p.4: the same SEQ repeats the last answer
    max_data=213,  # X doc p.4
    operators=range(1, 31),  # X doc p.9
    password_digits=(1, 8),  # X doc p.9
    # The X doc gives no factory passwords; ErpNet.FP (BgDatecsXIslFiscalPrinter.cs) defaults to "0000" for
    # operator 1 and "9999" for the administrator, operator 20.
    factory_password=lambda operator: "9999" if operator == 20 else "0000",
    tax_letters="12345678",  # X doc p.9: TaxCd 1..8
    # X doc p.11: 0 cash, 1 credit card, 2 debit card, 3-5 other payments (6, foreign currency, is not emulated).
    payment_codes={"0": "cash", "1": "credit_card", "2": "card", "3": "other3", "4": "other4", "5": "other5"},
    item_text_max=72,  # X doc p.9
    item_text_truncates=False,
    fiscal_text_max=X_TEXT_COLUMNS,  # X doc p.12
    service_text_max=X_TEXT_COLUMNS,  # X doc p.7
    service_text_truncates=False,
    total_text_max=0,  # 35h carries no text (X doc p.11)
    total_text_truncates=False,
    max_sales=None,  # the X doc sets none
    amounts_in_stotinki=False,  # X doc p.11 and on: "0.00...9999999.99" with the decimal point set by 53h
    cancel_command=0x3C,  # X doc p.15
    wrong_password=("not_allowed",),
    x_protocol=True,
)

FAMILIES = (C_FAMILY, P_FAMILY, DAISY_FAMILY, X_FAMILY)


def _key(model: str) -> str:
    return model.upper().replace("-", "").replace(" ", "")


def family_for(model: str) -> tuple[Family, str]:
    """The family speaking ``model`` and the model's own spelling; ``UnknownModel`` otherwise."""
    wanted = _key(model)
    for family in FAMILIES:
        for name in family.models:
            if _key(name) == wanted:
                return family, name
    raise UnknownModel(f"unknown model {model!r}; models: {', '.join(m for f in FAMILIES for m in f.models)}")
