"""Real browser: a teacher reaches the QR sign-in cards from the class page and prints them (A4, axe-clean);
then a child's Chromebook camera — Chromium's fake capture device playing a Y4M video made from the printed
card's QR code — is decoded by the scanner page under the real CSP, and the child is signed in."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import segno
from sqlmodel import Session

from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.test_runner_a11y import axe_violations
from tests.lms.conftest import PASSWORD
from tests.support import missing

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 640, 480


def write_y4m(payload: str, path: Path, frames: int = 10) -> None:
    """A grey Y4M video (4:2:0) of the QR code of ``payload`` on white, as a camera held to the card sees."""
    rows = [bytes(row) for row in segno.make(payload, error="m").matrix_iter(scale=9, border=4)]
    size = len(rows)
    top, left = (HEIGHT - size) // 2, (WIDTH - size) // 2
    luma = bytearray(b"\xeb" * (WIDTH * HEIGHT))  # white (video range)
    for y, row in enumerate(rows):
        line = bytes(0x10 if dark else 0xEB for dark in row)
        start = (top + y) * WIDTH + left
        luma[start : start + size] = line
    chroma = b"\x80" * (WIDTH * HEIGHT // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.wait_for_url(f"{base}/home")


def test_cards_printed_and_a_scanned_card_signs_the_child_in(
    page: Any, live_server: str, world: Any, tmp_path: Path
) -> None:
    klass = world.classes["A1"]
    _sign_in(page, live_server, "t-a1")
    page.goto(f"{live_server}/classes/{klass.id}")
    page.get_by_role("link", name="QRログインカード（印刷・無効化）").click()
    page.wait_for_url(f"{live_server}/classes/{klass.id}/cards")
    assert axe_violations(page) == []
    assert page.locator("#card-roster tbody input:checked").count() == 2  # both children have no card yet
    page.get_by_role("button", name="選んだ児童生徒のカードを発行して印刷する").click()
    page.wait_for_selector("#card-sheet")
    cards = page.locator(".signin-card")
    assert cards.count() == 2
    assert axe_violations(page) == []
    first = cards.first
    assert "一郎" in first.inner_text() and first.locator("ruby rt").first.inner_text() == "やまだ"
    code = first.get_attribute("data-code")
    assert code and len(code) == 12
    # print: only the cards, on one A4 page (two cards of 91 × 55 mm)
    page.emulate_media(media="print")
    assert (
        not page.locator(".site-header").is_visible()
        and not page.get_by_role("button", name="印刷する").is_visible()
    )
    box = first.bounding_box()
    assert box is not None and 330 < box["width"] < 360 and 200 < box["height"] < 215  # 91 × 55 mm at 96 dpi
    page.screenshot(path="/tmp/giga_cards_print.png", full_page=True)
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one A4 sheet
    page.emulate_media(media="screen")

    # the scanner page is axe-clean too (its camera refused in this context: the typed-code fallback shows)
    context = page.context.browser.new_context(locale="ja-JP", bypass_csp=True)
    scanner = context.new_page()
    scanner.goto(f"{live_server}/login")
    assert axe_violations(scanner) == []
    scanner.get_by_role("link", name="QRコードでログイン").click()
    scanner.wait_for_url(re.compile(r".*/login/card\?next=.*"))
    scanner.wait_for_function(
        "document.getElementById('scan-status').textContent.includes('カメラが つかえません')"
    )
    assert axe_violations(scanner) == []
    context.close()

    # the child's Chromebook: a fake camera showing the card, the page under the real CSP
    video = tmp_path / "card.y4m"
    write_y4m("GIGA-CARD:" + code, video)
    executable = shutil.which("chromium")
    if executable is None:
        missing("Debian's chromium is not installed (apt-get install chromium)")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    chromebook = page.context.browser.browser_type.launch(executable_path=executable, args=args)
    try:
        child_context = chromebook.new_context(locale="ja-JP", viewport={"width": 1366, "height": 768})
        child_context.grant_permissions(["camera"], origin=live_server)
        child = child_context.new_page()
        problems: list[str] = []
        requested: list[str] = []
        child.on("request", lambda r: requested.append(r.url))
        child.on(
            "console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None
        )
        child.goto(f"{live_server}/login")
        child.get_by_role("link", name="QRコードでログイン").click()
        child.wait_for_url(f"{live_server}/home", timeout=30_000)
        assert child.get_by_role("button", name="おわる（サインアウト）").is_visible()
        assert "一郎" in child.locator(".who").inner_text()
        decoder = (
            "jsQR" if any(u.endswith("/static/vendor/jsQR.js") for u in requested) else "BarcodeDetector"
        )
        print(f"card decoded in the browser with {decoder}")
        assert problems == []
    finally:
        chromebook.close()


def test_a_class_of_25_prints_on_three_a4_sheets(
    page: Any, live_server: str, world: Any, db_session: Session
) -> None:
    from lms.roster.models import User
    from tests.factories import enrol

    klass = world.classes["A1"]
    for number in range(3, 26):  # 23 more children: 25 in all
        child = User(
            username=f"s-extra-{number}",
            role="student",
            given_name="太郎",
            family_name="佐藤",
            kana_given_name="タロウ",
            kana_family_name="サトウ",
            primary_org_id=world.orgs["A"].id,
        )
        db_session.add(child)
        db_session.flush()
        enrol(db_session, user=child, klass=klass, number=number)
    db_session.commit()
    _sign_in(page, live_server, "t-a1")
    page.goto(f"{live_server}/classes/{klass.id}/cards")
    page.get_by_role("button", name="選んだ児童生徒のカードを発行して印刷する").click()
    page.wait_for_selector("#card-sheet")
    assert page.locator(".signin-card").count() == 25
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 3  # ten cards a sheet, none cut
    tops = page.eval_on_selector_all(".signin-card", "els => els.map(e => e.getBoundingClientRect().top)")
    assert len(set(round(t) for t in tops)) == 13  # two cards a row


BARCODE_DETECTOR_STUB = """
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(['qr_code', 'ean_13']); }
  constructor(options) { window.__detectorFormats = options.formats; }
  detect(source) {  // what ChromeOS's detector answers when the card is in front of the camera
    const ready = source instanceof HTMLVideoElement && source.videoWidth > 0;
    return Promise.resolve(ready ? [{rawValue: 'GIGA-CARD:' + window.__cardCode, format: 'qr_code'}] : []);
  }
};
"""


def test_where_the_browser_has_barcode_detector_it_is_used_and_jsqr_is_not_loaded(
    page: Any, live_server: str, world: Any
) -> None:
    klass, child_user = world.classes["A1"], world.users["s-a1"]
    _sign_in(page, live_server, "t-a1")
    page.goto(f"{live_server}/classes/{klass.id}/cards")
    page.locator("#card-roster tbody input").nth(1).uncheck()
    page.get_by_role("button", name="選んだ児童生徒のカードを発行して印刷する").click()
    code = page.locator(".signin-card").first.get_attribute("data-code")
    assert code and "一郎" in page.locator(".signin-card").first.inner_text()
    executable = shutil.which("chromium") or missing("Debian's chromium is not installed")
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    chromebook = page.context.browser.browser_type.launch(executable_path=executable, args=args)
    try:
        context = chromebook.new_context(locale="ja-JP")
        context.grant_permissions(["camera"], origin=live_server)
        context.add_init_script(BARCODE_DETECTOR_STUB + f"window.__cardCode = {code!r};")
        child = context.new_page()
        requested: list[str] = []
        child.on("request", lambda r: requested.append(r.url))
        child.goto(f"{live_server}/login/card")
        child.wait_for_url(f"{live_server}/home", timeout=30_000)
        assert child_user.given_name in child.locator(".who").inner_text()
        assert not any(url.endswith("/static/vendor/jsQR.js") for url in requested)
    finally:
        chromebook.close()
