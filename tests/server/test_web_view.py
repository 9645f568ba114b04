"""The live web view in a real headless Chromium (Debian's, driven by Selenium):
a human-in-the-loop run shows up waiting, is answered through the page's form
and is seen completing, live. Screenshots go to a temporary folder (or to
``$DURABLE_FLOWS_SCREENSHOTS``)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import ServerProcess

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("no chromium + chromedriver (Debian: apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DURABLE_FLOWS_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _badge(driver: Any, run_id: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f'tr[data-run="{run_id}"] .badge').text)


def _answer(driver: Any, text: str) -> bool:
    """Type and send ``text`` in the wait form (the live page may swap it in between: then again)."""
    box = driver.find_element(By.CSS_SELECTOR, "form.send-form input.response")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "form.send-form button").click()
    return True


def _text(driver: Any, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def test_answer_a_waiting_run_from_the_browser(server: ServerProcess, browser: Any, shots: Path) -> None:
    # the live page swaps its content as the journal moves on: elements may go stale
    wait = WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException])
    browser.get(server.url + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "live-state"), "live"))
    # started after the page loaded: the list learns of it live
    run_id = _post(server.url + "/workflows/approval/run-nowait", {"start_event": {"item": "laptop"}})["handler_id"]
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-run="{run_id}"]') and _badge(d, run_id) == "waiting")
    browser.save_screenshot(str(shots / "1-runs-list-waiting.png"))

    browser.find_element(By.LINK_TEXT, run_id).click()
    wait.until(lambda d: "HumanResponseEvent" in _text(d, "form.send-form"))
    wait.until(lambda d: _text(d, "h1 .badge") == "waiting")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#live-body svg")) >= 2  # graph and timeline
    wait.until(ec.text_to_be_present_in_element((By.ID, "live-state"), "live"))
    browser.save_screenshot(str(shots / "2-run-waiting.png"))

    wait.until(lambda d: _answer(d, "yes"))
    wait.until(lambda d: _text(d, "h1 .badge") == "completed")
    assert "laptop: yes" in browser.find_element(By.ID, "live-body").text
    assert not browser.find_elements(By.CSS_SELECTOR, "form.send-form")  # nothing left to answer
    browser.save_screenshot(str(shots / "3-run-completed.png"))

    browser.get(server.url + "/?status=completed")
    wait.until(lambda d: _badge(d, run_id) == "completed")
    browser.save_screenshot(str(shots / "4-runs-list-completed.png"))
    with sqlite3.connect(server.db) as conn:
        status, outcome = conn.execute("select status, outcome from runs where run_id=?", (run_id,)).fetchone()
        (answers,) = conn.execute("select count(*) from inbox where run_id=?", (run_id,)).fetchone()
    assert status == "completed" and "laptop: yes" in outcome
    assert answers == 1


def test_fork_then_cancel_from_the_browser(server: ServerProcess, browser: Any, shots: Path) -> None:
    wait = WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException])
    run_id = _post(server.url + "/workflows/approval/run-nowait", {"start_event": {"item": "bike"}})["handler_id"]
    browser.get(f"{server.url}/runs/{run_id}")
    wait.until(lambda d: _text(d, "h1 .badge") == "waiting")
    wait.until(lambda d: d.find_element(By.ID, "fork-run").click() or True)
    wait.until(lambda d: "/runs/" in d.current_url and run_id not in d.current_url)
    fork_id = browser.current_url.rsplit("/", 1)[-1]
    assert f"forked from run {run_id}" in _text(browser, "#live-body")
    # the served fork is picked up by the server's worker and waits like its parent
    wait.until(lambda d: _text(d, "h1 .badge") == "waiting")
    wait.until(lambda d: d.find_element(By.ID, "cancel-run").click() or True)
    wait.until(ec.alert_is_present()).accept()
    wait.until(lambda d: _text(d, "h1 .badge") == "cancelled")
    browser.save_screenshot(str(shots / "5-fork-cancelled.png"))
    with sqlite3.connect(server.db) as conn:
        rows = dict(conn.execute("select run_id, status from runs where run_id in (?, ?)", (run_id, fork_id)))
        (parent,) = conn.execute("select parent_run_id from runs where run_id=?", (fork_id,)).fetchone()
    assert rows == {run_id: "waiting", fork_id: "cancelled"} and parent == run_id
