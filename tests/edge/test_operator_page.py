"""The operator's page on a running edge: over HTTP (words, CSP, the form token, the Z's operator session, the
loopback guard) and in headless Chromium (what a cashier sees and presses; a foreign page that tries to press Z)."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_harness import Stack, free_port, make_job, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _page_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.manage_port}"


def _login_link(stack: Stack) -> str:
    shown = stack.cli("page", "--config", str(stack.config_dir / "edge.toml"))
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def _form_token(html: str) -> str:
    match = re.search(r'name="form" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def _reports(stack: Stack, kind: str) -> list[dict[str, Any]]:
    entries = stack.manage("get_journal_entries", {"start_time": 0, "end_time": time.time_ns() // 1_000_000}).json()
    return [e for e in entries if e["action_type"] == kind]


def test_the_page_speaks_words_allows_no_script_and_presses_each_button_once(stack: Stack) -> None:
    stack.start_edge()
    stack.manage("simulator/set_faults", {"paper_near_end": True})
    with httpx.Client(base_url=_page_url(stack), timeout=30) as browser:
        page = browser.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "<script" not in page.text
        assert "The paper roll is nearly finished. Have a new roll ready." in page.text
        assert re.search(r'value="Z" disabled', page.text), "no Z without the operator session"

        token = _form_token(page.text)
        pressed = browser.post("/operator/report", data={"form": token, "report": "X"})
        assert pressed.status_code == 303 and "notice=done" in pressed.headers["location"]
        again = browser.post("/operator/report", data={"form": token, "report": "X"})  # a reload, a double click
        assert again.status_code == 303 and "notice=done" not in again.headers["location"]
        assert len(_reports(stack, "XReport")) == 1

        no_session = browser.post("/operator/report", data={"form": _form_token(browser.get("/").text), "report": "Z"})
        assert "notice=login" in no_session.headers["location"] and _reports(stack, "ZReport") == []

        assert browser.get(_login_link(stack)).status_code == 303 and "rb_operator" in browser.cookies
        page = browser.get("/")
        assert not re.search(r'value="Z" disabled', page.text)
        foreign = browser.post("/operator/report", data={"form": _form_token(page.text), "report": "Z"},
                               headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403 and foreign.json()["code"] == "E_FORBIDDEN_ORIGIN"
        closed = browser.post("/operator/report", data={"form": _form_token(page.text), "report": "Z"})
        assert "notice=done" in closed.headers["location"] and "number=0001" in closed.headers["location"]
        [z] = _reports(stack, "ZReport")
        assert z["success"] and z["description"] == "Z report from the operator's page"
        assert "Z report printed, No 0001." in browser.get(closed.headers["location"]).text

    for hostile in ({"form": "x.1.y", "report": "Z"}, {"report": "Q"}, {"form": token, "report": "X", "device": "../../etc"}):
        refused = httpx.post(f"{_page_url(stack)}/operator/report", data=hostile)
        assert refused.status_code == 303, hostile
    assert len(_reports(stack, "XReport")) == 1 and len(_reports(stack, "ZReport")) == 1
    assert httpx.get(f"{_page_url(stack)}/operator/login", params={"code": "9999999999.00"}).headers["location"] == "/?notice=login"
    for cookie in ("9" * 5000 + ".a", "1e9.x", "-5.x", "", "a.b.c"):
        hostile_page = httpx.get(f"{_page_url(stack)}/", cookies={"rb_operator": cookie}, params={"notice": "failed", "code": "<b>x"})
        assert hostile_page.status_code == 200 and re.search(r'value="Z" disabled', hostile_page.text) and "<b>x" not in hostile_page.text


class EvilSite:
    """Another web page opened on the till (another local port: same site, other origin) that submits the Z form."""

    def __init__(self, target: str) -> None:
        page = (f'<form id="f" method="post" action="{target}/operator/report"><input name="report" value="Z">'
                '<input name="form" value="guessed"></form><script>document.getElementById("f").submit()</script>').encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def evil(stack: Stack) -> Iterator[EvilSite]:
    site = EvilSite(_page_url(stack))
    yield site
    site.close()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_a_cashier_sees_and_presses_in_chromium_and_a_foreign_page_cannot(stack: Stack, evil: EvilSite, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    stack.start_edge()
    for n in (1, 2, 3):
        stack.send(make_job(f"page-{n}"))
    wait_for(lambda: all(stack.settled(f"page-{n}") for n in (1, 2, 3)), what="three receipts")
    stack.manage("simulator/set_faults", {"paper_near_end": True})
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(_login_link(stack))
        assert page.url.rstrip("/") == _page_url(stack)
        visible = page.inner_text("body")
        for expected in ("Fiscal printer", "The paper roll is nearly finished", "Waiting to print", "Last receipts and reports", "Receipt"):
            assert expected in visible, expected
        page.get_by_role("button", name="X report (day so far)").click()
        assert "X report printed." in page.inner_text("[role=status]")
        page.get_by_role("button", name="Z report (close the day)").click()
        assert "Z report printed, No 0001." in page.inner_text("[role=status]")
        shot = tmp_path / "operator-page.png"
        page.screenshot(path=str(shot), full_page=True)

        attack = browser.new_page()  # the same browser, with the operator's session cookie
        attack.goto(evil.url)
        attack.wait_for_load_state("networkidle")
        assert "E_FORBIDDEN_ORIGIN" in attack.inner_text("body")
        browser.close()
    assert errors == [], "the page runs without console errors (no script, nothing the CSP blocks)"
    assert len(stack.register().z_reports()) == 1 and len(_reports(stack, "ZReport")) == 1
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(shot, DOCS / "operator-page.png")
