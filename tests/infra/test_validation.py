"""Text, email and phone input as Chinese and English users type it."""

from __future__ import annotations

import pytest

from infra.validation import Validator, clean_text, normalise_phone


@pytest.mark.parametrize(("raw", "clean"), [
    ("  欧阳　娜娜 ", "欧阳 娜娜"),  # full-width space folded, ends trimmed
    ("王　　小明", "王 小明"),  # a run of spaces is one space
    ("Zhang\u200b San\ufeff", "Zhang San"),  # zero-width space, byte-order mark dropped
    ("👩\u200d💻 工程师", "👩\u200d💻 工程师"),  # the emoji joiner stays
    ("می\u200cخواهم", "می\u200cخواهم"),  # so does Persian's zero-width non-joiner
    ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # a flag, tags and all
     "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"),
    ("\u200fשלום", "\u200fשלום"),  # a right-to-left mark is not an override
    ("第一段\n\n第二段", "第一段\n\n第二段"),
])
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


@pytest.mark.parametrize("raw", ["abc\u202efdp.exe", "x\u2066y", "bell\x07"])
def test_direction_and_control_characters_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="characters"):
        clean_text(raw)


def test_a_name_of_invisible_characters_only_is_missing() -> None:
    check = Validator()
    assert check.text("name", "\u200b\u200b", max_len=200, required=True) is None
    assert [(e.field, e.code) for e in check.errors] == [("name", "required")]


@pytest.mark.parametrize(("raw", "region", "e164"), [
    ("13800138000", "CN", "+8613800138000"),
    ("138 0013 8000", "CN", "+8613800138000"),
    ("+86 138-0013-8000", "US", "+8613800138000"),
    ("１３８００１３８０００", "CN", "+8613800138000"),  # full-width digits
    ("(415) 555-2671", "US", "+14155552671"),
])
def test_phone_numbers_are_stored_in_e164(raw: str, region: str, e164: str) -> None:
    assert normalise_phone(raw, region) == e164
