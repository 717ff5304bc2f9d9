"""The screenshot checks catch what they are for (a negative control): a character drawn as
the missing-glyph box in any font stack the page uses, not only the body's. (Chinese is not used
here: this machine has no Chinese system font, only the app's own, served with the app.)"""

from __future__ import annotations

from modules.demo import DEMO_EMAIL
from tests.web.checks import missing_glyphs
from tests.web.conftest import UI


def test_a_missing_glyph_is_found_in_a_monospace_block_too(ui: UI) -> None:
    ui.page.set_content(
        "<body style='font-family: sans-serif'><p>Café Zoë</p>"
        "<pre style='font-family: monospace'>naïve request \ue000</pre>"
        "<p style='display: none'>\ue001</p></body>")
    assert missing_glyphs(ui.page) == ["\ue000"]  # hidden text is not on the screenshot


def test_chinese_in_a_stack_without_the_apps_font_is_found(ui: UI) -> None:
    """In the app, Chinese draws in the body's stack (the app's own font) but not in a bare
    monospace one: the check judges each text in the stack it is shown in."""
    ui.enter(DEMO_EMAIL, "/")
    assert missing_glyphs(ui.page) == []
    ui.page.evaluate("""() => {
      const pre = document.createElement('pre');
      pre.style.fontFamily = 'monospace';
      pre.textContent = '请求体';
      document.querySelector('main').append(pre);
    }""")
    assert sorted(missing_glyphs(ui.page)) == sorted("请求体")
