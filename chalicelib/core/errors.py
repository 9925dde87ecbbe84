"""Typed API errors and the one error body of DESIGN §4.

``{"status_code", "error", "code", "message"}``; codes of the eReceipt API kept
as they are, our own in the same ``E_…`` style.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class BridgeError(Exception):
    status_code: int = 400
    code: str = "E_BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code

    def body(self) -> dict[str, Any]:
        return error_body(self.status_code, self.code, self.message)

    def headers(self) -> dict[str, str]:
        """Headers the error's response carries beside the body (none but for a few errors)."""
        return {}


def error_body(status_code: int, code: str, message: str) -> dict[str, Any]:
    return {
        "status_code": status_code,
        "error": HTTPStatus(status_code).phrase,
        "code": code,
        "message": message,
    }


class SchemaValidationError(BridgeError):
    status_code, code = 400, "E_FAILED_SCHEMA_VALIDATION"


class AuthenticationError(BridgeError):
    status_code, code = 401, "E_AUTHENTICATION"


class ForbiddenError(BridgeError):
    status_code, code = 403, "E_FORBIDDEN"


class NotFoundError(BridgeError):
    status_code, code = 404, "E_NOT_FOUND"


class RouteNotFound(NotFoundError):
    """A path no route serves (the catch-all routes answer it, so API Gateway's own 403 never does)."""

    code = "E_ROUTE_NOT_FOUND"


class ShopNotFound(NotFoundError):
    code = "E_SHOP_NOT_FOUND"


class OrderNotFound(NotFoundError):
    code = "E_ORDER_NOT_FOUND"


class JobNotFound(NotFoundError):
    code = "E_JOB_NOT_FOUND"


class ReceiptNotFound(NotFoundError):
    code = "E_RECEIPT_NOT_FOUND"


class CatalogReferenceError(BridgeError):
    """An order names a catalogue entry the shop does not have."""

    status_code, code = 422, "E_UNKNOWN_REFERENCE"


class ConflictError(BridgeError):
    status_code, code = 409, "E_CONFLICT"


class PublicAccessExpired(BridgeError):
    status_code, code = 401, "E_PUBLIC_ACCESS_EXPIRED"


class WebhookTargetRefused(BridgeError):
    status_code, code = 400, "E_WEBHOOK_TARGET_REFUSED"


class ServiceUnavailable(BridgeError):
    status_code, code = 503, "E_SERVICE_UNAVAILABLE"


class RefundExceedsParent(BridgeError):
    """A refund larger than what is left to refund of its parent sale."""

    status_code, code = 422, "E_REFUND_EXCEEDS_PARENT"


class DeliveryNotFound(NotFoundError):
    code = "E_DELIVERY_NOT_FOUND"


class SignatureInvalid(BridgeError):
    """An inbound platform webhook whose HMAC signature does not verify."""

    status_code, code = 401, "E_SIGNATURE_INVALID"


class PdfLinkMissing(NotFoundError):
    """The receipt's PDF has not been rendered yet."""

    code = "E_PDF_LINK_MISSING"


class UnsupportedMediaType(BridgeError):
    status_code, code = 415, "E_UNSUPPORTED_MEDIA_TYPE"


class AmountTooLarge(BridgeError):
    """An order whose lines or total exceed what a fiscal receipt can carry."""

    status_code, code = 422, "E_AMOUNT_TOO_LARGE"


class ApiKeyNotFound(NotFoundError):
    """An API key the authenticated merchant does not have (another merchant's key looks the same)."""

    code = "E_API_KEY_NOT_FOUND"


class RateLimited(BridgeError):
    """Too many requests in the current window; ``retry_after`` seconds until the next one opens."""

    status_code, code = 429, "E_RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class PaymentMismatch(BridgeError):
    """An order whose payments do not add up to its total."""

    status_code, code = 422, "E_PAYMENT_MISMATCH"


class TenderedInvalid(BridgeError):
    """A ``tendered`` amount on a payment that is not cash, or less than the payment it covers."""

    status_code, code = 422, "E_TENDERED_INVALID"


class DiscountExceedsLine(BridgeError):
    """A discount that would take a line (or the order) below zero."""

    status_code, code = 422, "E_DISCOUNT_EXCEEDS_LINE"


class ParentNotFiscalized(BridgeError):
    """A refund of a sale whose fiscal receipt has not been printed yet: there is nothing to name as the original."""

    status_code, code = 409, "E_PARENT_NOT_FISCALIZED"


class VatInconsistent(BridgeError):
    """A line's given VAT amount that is not its rate's VAT contained in its amount (within a minor unit), or
    VAT on a zero-rate line."""

    status_code, code = 422, "E_VAT_INCONSISTENT"


class CurrencyMismatch(BridgeError):
    """A shop platform's order in another currency than the shop's: never converted."""

    status_code, code = 422, "E_CURRENCY_MISMATCH"


class VatRateUnsupported(BridgeError):
    """A shop platform's line at a VAT rate the shop's fiscal device does not print (the adapter's ``vat_rates``)."""

    status_code, code = 422, "E_VAT_RATE_UNSUPPORTED"


class MultipleTaxLines(BridgeError):
    """A shop platform's line taxed by several taxes: a fiscal receipt prints one VAT rate per line."""

    status_code, code = 422, "E_MULTIPLE_TAX_LINES"


class PlatformTotalMismatch(BridgeError):
    """A shop platform's order whose lines, shipping, fees and discounts do not add up to its own total."""

    status_code, code = 422, "E_PLATFORM_TOTAL_MISMATCH"


class PairingCodeInvalid(BridgeError):
    """A pairing code that is unknown, used or expired: one answer for all three, so it tells a guesser nothing."""

    status_code, code = 400, "E_PAIRING_CODE_INVALID"
