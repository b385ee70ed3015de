"""The HTML report in a real browser: headless Chromium (Debian's /usr/bin/chromium with
/usr/bin/chromedriver, driven by selenium). Run with `make test-browser`; skipped when Chromium
is missing. Screenshots go to test-artifacts/."""

import os
import pathlib
import shutil
import tempfile

import numpy as np
import pandas as pd
import pytest

import mahalanobis as mh
from mahalanobis.report import build_report

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                       reason="needs /usr/bin/chromium and /usr/bin/chromedriver "
                              "(make test-browser installs them)"),
]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def driver():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="mahalanobis-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    rng = np.random.default_rng(7)
    X = rng.multivariate_normal(np.zeros(4), np.eye(4) + 0.6, size=120)
    X[:8] += [4, -4, 4, 0]
    df = pd.DataFrame(X, columns=["temp", "pressure", "flow", "speed"],
                      index=[f"batch-{i:03d}" for i in range(120)])
    method = "mcd" if "mcd" in mh.available_methods() else "empirical"
    html = build_report(df, method=method, title="Browser check")
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(html, encoding="utf-8")
    return path, html.count("<figure"), method


def _open(driver, path, width, height=900):
    driver.set_window_size(width, height)
    driver.get(path.as_uri())
    driver.execute_script("return document.readyState")


def _screenshot(driver, name):
    ARTIFACTS.mkdir(exist_ok=True)
    full = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.execute_script("return window.outerWidth")
    driver.set_window_size(width, min(int(full) + 140, 8000))
    target = ARTIFACTS / f"report-{name}.png"
    driver.save_screenshot(str(target))
    assert target.stat().st_size > 10_000
    return target


@pytest.mark.parametrize("name, width", [("laptop", 1366), ("phone", 390)])
def test_report_renders(driver, report_file, name, width):
    path, n_figures, _ = report_file
    _open(driver, path, width)
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    # every figure is drawn with a non-zero size and fits the page width
    sizes = driver.execute_script("""
        return Array.from(document.querySelectorAll('figure svg')).map(function (s) {
          var r = s.getBoundingClientRect(); return [r.width, r.height]; });""")
    assert len(sizes) == n_figures >= 3
    assert all(w > 100 and h > 50 for w, h in sizes), sizes
    assert all(w <= width for w, _ in sizes)
    # the flagged table has one row per flagged row
    n_flag = int(driver.execute_script(
        "return document.getElementById('n-flagged').textContent"))
    rows = driver.execute_script("return document.querySelectorAll('#flagged tbody tr').length")
    assert n_flag >= 8 and rows == n_flag
    # nothing was fetched, and the page does not scroll sideways (tables scroll in their box)
    assert driver.execute_script(
        "return performance.getEntriesByType('resource').length") == 0
    assert driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    viewport = driver.execute_script(
        "return document.querySelector('meta[name=viewport]').content")
    assert "width=device-width" in viewport
    _screenshot(driver, name)


def test_table_sorts_on_click(driver, report_file):
    path, *_ = report_file
    _open(driver, path, 1366)
    col = driver.execute_script("""
        var ths = Array.from(document.querySelectorAll('#flagged thead th'));
        return ths.findIndex(function (t) { return t.textContent.trim() === 'D²'; });""")
    values = """var c = arguments[0];
        return Array.from(document.querySelectorAll('#flagged tbody tr')).map(
          function (r) { return parseFloat(r.cells[c].getAttribute('data-v')); });"""
    before = driver.execute_script(values, col)
    assert before == sorted(before, reverse=True)          # most outlying first
    button = driver.find_elements("css selector", "#flagged thead th button")[col]
    button.click()
    after = driver.execute_script(values, col)
    assert after == sorted(before)
    assert button.find_element("xpath", "..").get_attribute("aria-sort") == "ascending"
    button.click()
    assert driver.execute_script(values, col) == sorted(before, reverse=True)
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('#flagged tbody tr td:first-child'))"
        ".map(function (c) { return c.textContent; });")
    assert all(lab.startswith("batch-") for lab in labels)
