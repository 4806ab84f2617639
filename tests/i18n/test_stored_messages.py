"""Messages stored in English and shown in the reader's language (miaohua_site/i18n.py): the matching of a stored
text against the registered templates, with a small catalog of its own."""

import pytest
from django.utils import translation

from miaohua_site import i18n

CATALOG = {
    "Miaohua did not finish in {minutes} minutes.": "妙画未在 {minutes} 分钟内完成。",
    "Refused by Miaohua: {reason}": "被妙画拒绝：{reason}",
    "The prompt is too long.": "提示词太长。",
    "Between {low} and {high}.": "介于 {low} 与 {high} 之间。",
    "This image is {size} MB.": "这张图片有 {size} MB。",
    "This image is over {mb} MB.": "这张图片超过 {mb} MB。",
}


@pytest.fixture
def catalog(monkeypatch):
    for template in CATALOG:
        i18n.stored(template)
    monkeypatch.setattr(i18n, "gettext", lambda text: CATALOG.get(text, text))


def test_english_is_stored_whatever_language_is_active(catalog):
    with translation.override("zh-hans"):
        assert i18n.english("Miaohua did not finish in {minutes} minutes.", minutes=15) == (
            "Miaohua did not finish in 15 minutes."
        )


def test_a_stored_message_with_values_is_shown_translated_with_the_same_values(catalog):
    assert i18n.shown("Miaohua did not finish in 15 minutes.") == "妙画未在 15 分钟内完成。"
    assert i18n.shown("Between 1 and 30.") == "介于 1 与 30 之间。"


def test_a_plain_message_is_looked_up_and_nested_values_are_translated_too(catalog):
    assert i18n.shown("The prompt is too long.") == "提示词太长。"
    assert i18n.shown("Refused by Miaohua: The prompt is too long.") == "被妙画拒绝：提示词太长。"


def test_the_vendors_own_text_and_unknown_text_are_shown_as_they_come(catalog):
    assert i18n.shown("Refused by Miaohua: 敏感词") == "被妙画拒绝：敏感词"
    assert i18n.shown("Something nobody registered") == "Something nobody registered"
    assert i18n.shown("") == "" and i18n.shown(None) == ""


def test_braces_in_a_stored_value_do_not_break_the_template(catalog):
    assert i18n.shown("Refused by Miaohua: {weird} text") == "被妙画拒绝：{weird} text"


def test_the_filter_is_available_in_every_template(catalog):
    from django.template import Context, Template

    html = Template("{{ message|stored_message }}").render(Context({"message": "Miaohua did not finish in 5 minutes."}))
    assert html == "妙画未在 5 分钟内完成。"


def test_of_two_templates_that_match_the_one_with_more_of_its_own_words_wins(catalog):
    assert i18n.shown("This image is over 5 MB.") == "这张图片超过 5 MB。"
    assert i18n.shown("This image is 7.5 MB.") == "这张图片有 7.5 MB。"
