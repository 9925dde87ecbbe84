"""The receipt as a customer gets it, on the real local stack: the page in headless Chromium at
phone width, the PDF behind its link, and schemathesis against the served OpenAPI document."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from devstack.harness import RunningStack, running_stack
from tests.receipt_samples import receipt_body

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("receipt-stack")) as running:
        yield running


@pytest.fixture(scope="module")
def http(stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.demo["api_base"], timeout=30) as client:
        token = client.post("/api/v1/auth", json=stack.demo["merchant"]).json()["access_token"]
        client.headers["authorization"] = f"Bearer {token}"
        yield client


@pytest.fixture(scope="module")
def receipt(http) -> dict[str, Any]:
    """A receipt put through the API, once its PDF has been rendered by the asynchronous handler."""
    receipt_id = str(uuid.uuid4())
    created = http.put(f"/api/v1/receipts/{receipt_id}", json=receipt_body())
    assert created.status_code == 200, created.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = http.get(f"/api/v1/receipts/{receipt_id}").json()
        if current["assets"]["pdf"]["url"]:
            return current
        time.sleep(0.2)
    raise AssertionError("the PDF was never rendered")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_page_at_phone_width_shows_what_a_customer_needs(receipt, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport=PHONE, device_scale_factor=2)
        response = page.goto(receipt["public_link"]["url"])
        assert response is not None and response.status == 200
        visible = page.inner_text("body")
        shot = tmp_path / "receipt-page.png"
        page.screenshot(path=str(shot), full_page=True)
        qr = page.locator("svg.segno").bounding_box()
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        pdf_link = page.get_by_role("link", name="Download PDF").get_attribute("href")
        browser.close()
    for expected in ("Café Lumière", "Hauptstraße 5, 10115 Berlin, DE", "VAT ID DE123456789", "Receipt 1001",
                     "Flat white", "2 × 3.50 · VAT 19%", "Croissant", "9.90 EUR", "Paid by Card",
                     "Fiscal receipt no.", "0004711", "TSE-01", "Download PDF", "This link works until"):
        assert expected in visible, expected
    assert "19%\t5.88\t1.12\t7.00" in visible and "7%\t2.71\t0.19\t2.90" in visible, "the VAT table, row by row"
    assert qr is not None and qr["width"] >= 100, "a QR code large enough to scan"
    assert not overflow, "nothing wider than a phone screen"
    assert pdf_link == receipt["public_link"]["url"] + ".pdf"
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(shot, Path(__file__).resolve().parents[1] / "docs" / "receipt-page.png")


def test_pdf_link_redirects_to_the_rendered_pdf(receipt):
    response = httpx.get(receipt["assets"]["pdf"]["url"], follow_redirects=True, timeout=30)
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert response.history and response.history[0].status_code == 302
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for expected in ("Café Lumière", "Receipt 1001", "Flat white", "2 x 3.50", "Croissant (to go)", "TOTAL EUR",
                     "9.90", "Paid by Card", "5.88 / 1.12 / 7.00", "0004711"):
        assert expected in text, expected
    assert receipt["public_link"]["url"] in text.replace("\n", ""), "the link under the QR code (wrapped)"


def test_public_json_is_the_seed_shape(http, receipt):
    public = httpx.get(receipt["public_link"]["url"] + ".json", timeout=30)
    assert public.status_code == 200
    assert public.json() == {"_id": receipt["_id"], "_type": "RECEIPT", "_version": "1.0.0",
                             "schema": receipt["schema"], "assets": receipt["assets"]}


def test_schemathesis_finds_no_server_error_and_no_schema_break(stack, http, tmp_path):
    schemathesis = Path(sys.executable).with_name("schemathesis")
    # Shop routes get the demo shop, so generated orders pass its key and reach the catalogue checks;
    # deleting a shop and rotating its keys are tried on a shop of their own: on the demo shop, whichever ran
    # first would take the key every later order is sent with.
    doomed = http.post("/api/v1/shops", json={"name": "Deleted by schemathesis"})
    assert doomed.status_code == 201, doomed.text
    shop_id, doomed_id = stack.demo["shop"]["shop_id"], doomed.json()["shop_id"]
    config, har = tmp_path / "schemathesis.toml", tmp_path / "run.har"
    on_doomed_shop = ["DELETE /api/v1/shops/{shop_id}", "POST /api/v1/shops/{shop_id}/keys/shop_key/rotate",
                      "POST /api/v1/shops/{shop_id}/keys/edge_key/rotate", "POST /api/v1/shops/{shop_id}/webhook/secret/rotate"]
    config.write_text(f'[parameters]\n"path.shop_id" = "{shop_id}"\n' + "".join(
        f'\n[[operations]]\ninclude-name = "{name}"\nparameters = {{ "path.shop_id" = "{doomed_id}" }}\n'
        for name in on_doomed_shop))
    # One worker: on CPython 3.11.7 two threads calling ast.parse at once (hypothesis describes its
    # filter lambdas that way) can raise "AST constructor recursion depth mismatch" (cpython#106905).
    command = [str(schemathesis), "--config-file", str(config), "run", f"{stack.demo['api_base']}/api/v1/openapi.json",
               "--checks", "not_a_server_error,response_schema_conformance", "--max-examples", "10",
               "--seed", "1", "--generation-database", "none", "--workers", "1", "--no-color",
               "--header", f"Authorization: {http.headers['authorization']}",
               "--header", f"X-Shop-Key: {stack.demo['shop']['shop_key']}",
               "--report", "har", "--report-har-path", str(har)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counts and counts[1] == counts[2] and int(counts[1]) > 500, result.stdout[-3000:]
    order_answers = {entry["response"]["status"] for entry in json.loads(har.read_text())["log"]["entries"]
                     if entry["request"]["method"] == "POST" and entry["request"]["url"].endswith(f"/shops/{shop_id}/orders")}
    assert 422 in order_answers, f"no generated order got past the shop key and the body checks: {order_answers}"
