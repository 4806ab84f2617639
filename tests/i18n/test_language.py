"""Choosing the language (issue #11 §3): the browser's before sign-in, the member's own choice after, remembered
for the member on every device; dates in the chosen locale; the JavaScript catalog in the page's language."""

import pytest
from django.utils import timezone

from miaohua_site.accounts.language import SESSION_KEY, language_of, supported
from miaohua_site.accounts.models import Preferences

pytestmark = pytest.mark.django_db


def _lang(response) -> str:
    return response.content.decode().split("<html lang=\"", 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    ("accept", "shown"),
    [("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"), ("zh-Hans", "zh-Hans"), ("zh-SG", "zh-Hans"), ("en-US,en;q=0.9", "en"),
     ("fr-FR", "en"), ("", "en")],
)
def test_the_sign_in_page_speaks_the_browsers_language(client, accept, shown):
    response = client.get("/accounts/login/", headers={"Accept-Language": accept} if accept else {})
    assert _lang(response) == shown
    assert response["Content-Language"] == ("zh-hans" if shown == "zh-Hans" else "en")
    if shown == "zh-Hans":
        assert "妙画工作室" in response.content.decode()


def test_a_visitor_can_switch_before_signing_in_and_the_cookie_keeps_it(client):
    response = client.post("/settings/language/", {"language": "zh-hans", "next": "/accounts/login/"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert response.cookies["django_language"].value == "zh-hans"
    page = client.get("/accounts/login/", headers={"Accept-Language": "en"})
    assert _lang(page) == "zh-Hans"


def test_a_members_choice_is_kept_and_follows_them_to_another_browser(client, owner, django_user_model):
    client.force_login(owner)
    response = client.post("/settings/language/", {"language": "zh-hans", "next": "/history/"})
    assert response["Location"] == "/history/"
    assert Preferences.objects.get(user=owner).language == "zh-hans"
    assert _lang(client.get("/history/", headers={"Accept-Language": "en"})) == "zh-Hans"

    from django.test import Client

    other = Client()  # another device, an English browser: signing in brings the member's choice
    assert _lang(other.get("/accounts/login/", headers={"Accept-Language": "en"})) == "en"
    signed = other.post("/accounts/login/", {"username": "owner", "password": "owner-pass-123"},
                        headers={"Accept-Language": "en"})
    assert signed.status_code == 302
    assert other.session[SESSION_KEY] == "zh-hans"
    assert signed.cookies["django_language"].value == "zh-hans"
    assert _lang(other.get("/history/", headers={"Accept-Language": "en"})) == "zh-Hans"

    other.post("/accounts/logout/")  # signed out, the sign-in page keeps speaking it (the cookie)
    assert _lang(other.get("/accounts/login/", headers={"Accept-Language": "en"})) == "zh-Hans"


def test_switching_back_to_english_is_kept_too(client, owner):
    Preferences.objects.create(user=owner, language="zh-hans")
    client.post("/accounts/login/", {"username": "owner", "password": "owner-pass-123"})
    client.post("/settings/language/", {"language": "en"})
    assert Preferences.objects.get(user=owner).language == "en"
    assert _lang(client.get("/history/", headers={"Accept-Language": "zh-CN"})) == "en"


def test_a_member_who_never_chose_follows_the_browser(client, owner):
    client.force_login(owner)
    assert _lang(client.get("/history/", headers={"Accept-Language": "zh-CN"})) == "zh-Hans"
    assert _lang(client.get("/history/", headers={"Accept-Language": "en-GB"})) == "en"
    assert not Preferences.objects.filter(user=owner).exists()


@pytest.mark.parametrize("value", ["fr", "", "zh-hans\x00", "x" * 300, "../../etc"])
def test_an_unknown_language_is_refused_with_a_message_and_nothing_changes(client, owner, value):
    client.force_login(owner)
    response = client.post("/settings/language/", {"language": value, "next": "/history/"}, follow=True)
    assert response.status_code in (200, 400)
    assert not Preferences.objects.filter(user=owner).exists()
    if response.status_code == 200:
        assert "Choose English or 简体中文." in response.content.decode()


def test_the_switch_goes_back_only_to_a_page_of_this_site(client, owner):
    client.force_login(owner)
    response = client.post("/settings/language/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    response = client.post("/settings/language/", {"language": "en"}, headers={"Referer": "http://testserver/trash/"})
    assert response["Location"] == "/trash/"
    assert client.get("/settings/language/").status_code == 405


def test_the_switch_is_in_the_user_menu_with_the_current_language_marked(client, owner):
    client.force_login(owner)
    html = client.get("/history/", headers={"Accept-Language": "zh-CN"}).content.decode()
    assert 'action="/settings/language/"' in html
    assert ">English<" in html and "简体中文" in html
    assert 'aria-current="true">简体中文' in html
    assert "退出登录" in html and "历史记录" in html


def test_the_javascript_catalog_answers_in_the_pages_language(client):
    import re

    # the catalog is JSON with ASCII escapes: Chinese characters are \\u4e00…\\u9fff
    zh = client.get("/jsi18n/", headers={"Accept-Language": "zh-CN"}).content.decode()
    en = client.get("/jsi18n/", headers={"Accept-Language": "en"}).content.decode()
    assert "django.gettext" in zh and "django.gettext" in en
    assert '"Copied": "\\u5df2\\u590d\\u5236"' in zh  # static/app.js and team.js: "Copied" → 已复制
    assert not re.search(r"\\u[4-9][0-9a-f]{3}", en)


def test_dates_follow_the_language(client, owner, settings):
    from django.template import Context, Template
    from django.utils import translation

    when = timezone.datetime(2026, 3, 7, 14, 5, tzinfo=timezone.get_current_timezone())
    template = Template('{{ d|date:"DATETIME_FORMAT" }} / {{ d|date:"YEAR_MONTH_FORMAT" }}')
    with translation.override("zh-hans"):
        assert template.render(Context({"d": when})) == "2026年3月7日 14:05 / 2026年3月"
    with translation.override("en"):
        assert template.render(Context({"d": when})) == "7 Mar 2026, 14:05 / March 2026"


def test_language_of_prefers_the_members_choice(owner):
    from django.utils import translation

    with translation.override("en"):
        assert language_of(owner) == "en"
        Preferences.objects.create(user=owner, language="zh-hans")
        assert language_of(owner) == "zh-hans"


@pytest.mark.parametrize(("code", "expected"), [("zh-CN", "zh-hans"), ("zh-hans", "zh-hans"), ("EN-us", "en"),
                                                ("de", None), ("", None), (None, None)])
def test_supported_maps_what_browsers_send(code, expected):
    assert supported(code) == expected


def test_two_sentences_translated_apart_are_joined_as_each_language_joins_them():
    from django.template import Context, Template
    from django.utils import translation

    template = Template('{% translate "Sign out" %}{% sentence_gap %}{% translate "Close" %}')
    with translation.override("zh-hans"):
        assert template.render(Context({})) == "退出登录关闭"
    with translation.override("en"):
        assert template.render(Context({})) == "Sign out Close"
