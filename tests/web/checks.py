"""What every screenshot of the app is checked for: no missing-glyph boxes, no message keys.

A character no font on the page can draw is rendered as the font's `.notdef` box ("tofu"); the
check draws each distinct character of the page's visible text with the font stack it is shown in
(the body's, a monospace `<pre>`'s, …) and compares it, pixel for pixel, with the box that stack
draws for characters no font has. Message keys shown
instead of text are caught twice: vue-i18n's missing-key hook (the app lists them in
`window.__crmI18n.missing`) and a scan of the visible text for `namespace.key` patterns.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

MISSING_GLYPHS_JS = r"""
async () => {
  // Each visible text with the font stack it is drawn in: a <pre> or <code> in a monospace
  // stack may lack glyphs the body's stack has.
  const byFamily = new Map();
  const add = (el, text) => {
    const family = getComputedStyle(el).fontFamily;
    const chars = byFamily.get(family) ?? new Set();
    for (const c of text) if (c.codePointAt(0) > 0x7e && !/\s/u.test(c)) chars.add(c);
    byFamily.set(family, chars);
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (el && el.checkVisibility({ visibilityProperty: true })) add(el, walker.currentNode.data);
  }
  for (const field of document.querySelectorAll('input, textarea')) {
    const shown = field.checkVisibility({ visibilityProperty: true });
    if (shown) add(field, field.placeholder + field.value);
  }
  await document.fonts.ready;
  const canvas = document.createElement('canvas');
  canvas.width = 40; canvas.height = 40;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.textBaseline = 'top';
  const draw = (c) => {
    ctx.clearRect(0, 0, 40, 40);
    ctx.fillText(c, 2, 2);
    return ctx.getImageData(0, 0, 40, 40).data.join(',') + '|' + ctx.measureText(c).width;
  };
  const missing = new Set();
  for (const [family, set] of byFamily) {
    const chars = [...set];
    if (!chars.length) continue;
    await document.fonts.load(`16px ${family}`, chars.join(''));
    ctx.font = `28px ${family}`;
    // Characters no font has: whatever they draw in this stack is its missing-glyph box.
    const boxes = new Set([draw('\u{10FFFD}'), draw('\u{E0FFF}'), draw('\u{FFFFD}')]);
    for (const c of chars) if (boxes.has(draw(c))) missing.add(c);
  }
  return [...missing];
}
"""

I18N_JS = "() => window.__crmI18n ?? null"
# A function, not an expression: the app's CSP forbids the eval Playwright uses for expressions.
SETTLED_JS = "() => document.getAnimations().every((a) => a.playState !== 'running')"


def missing_glyphs(page: Page) -> list[str]:
    return page.evaluate(MISSING_GLYPHS_JS)  # type: ignore[no-any-return]


def untranslated_keys(page: Page) -> list[str]:
    state: dict[str, Any] | None = page.evaluate(I18N_JS)
    assert state is not None, "the app did not start (window.__crmI18n is missing)"
    shown = page.evaluate("() => document.body.innerText")
    namespaces = "|".join(map(re.escape, state["namespaces"]))
    pattern = re.compile(rf"\b(?:{namespaces})\.[A-Za-z_][\w.]*")
    return sorted(set(state["missing"]) | set(pattern.findall(shown)))


def check_page(page: Page, folder: Path, name: str) -> Path:
    """Screenshot the page, then fail on missing glyphs or untranslated message keys."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header where it belongs in the picture
    # Dialogs and messages finish moving (an endless spinner just runs out the wait).
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(SETTLED_JS, timeout=2_000)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    boxes = missing_glyphs(page)
    assert not boxes, f"{name}: no font draws {boxes!r} (see {shot})"
    keys = untranslated_keys(page)
    assert not keys, f"{name}: untranslated message keys {keys!r} (see {shot})"
    return shot
