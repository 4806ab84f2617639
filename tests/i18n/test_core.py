"""The core pages in Simplified Chinese (issue #11): sign-in, password change and reset (and the reset email in the
recipient's language), the Miaohua account settings, vendor errors' explanations, the 400 page."""

import re

import pytest
from django.core import mail
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from miaohua_site.accounts.models import Preferences
from miaohua_site.i18n import english, shown
from miaohua_site.text import human_duration
from miaohua_site.upstream.errors import AccountLimit, InvalidParameter, LoginFailed, UpstreamTimeout

pytestmark = pytest.mark.django_db

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def test_the_sign_in_page_speaks_the_browsers_language(client):
    chinese = client.get(reverse("login"), headers=ZH).content.decode()
    assert "<title>登录 · 妙画工作室</title>" in chinese
    assert "用户名" in chinese and "密码" in chinese and "忘记密码？" in chinese
    assert "进入你团队的妙画工作室" in chinese
    assert "Sign in" not in chinese and "User name" not in chinese

    client.cookies.clear()
    english_page = client.get(reverse("login"), headers=EN).content.decode()
    assert "<title>Sign in · Miaohua Studio</title>" in english_page
    assert "User name" in english_page and "Forgot password?" in english_page
    assert "用户名" not in english_page


def test_a_wrong_password_is_refused_in_chinese(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"}, headers=ZH)
    assert "用户名和密码不匹配。请重试。" in response.content.decode()


def test_the_password_change_form_and_its_errors_are_in_chinese(client, owner):
    client.force_login(owner)
    page = client.get(reverse("password_change"), headers=ZH).content.decode()
    assert "<title>修改密码 · 妙画工作室</title>" in page
    assert "旧密码" in page and "取消" in page

    wrong = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": "a-new-Pass-456", "new_password2": "a-new-Pass-457"},
        headers=ZH,
    ).content.decode()
    assert "你的旧密码不正确。请重新输入。" in wrong  # Django's own catalog
    assert "输入的两个密码不一致。" in wrong

    empty = client.post(reverse("password_change"), {}, headers=ZH).content.decode()
    assert "这个字段是必填项。" in empty

    short = client.post(
        reverse("password_change"),
        {"old_password": "owner-pass-123", "new_password1": "a1", "new_password2": "a1"},
        headers=ZH,
    ).content.decode()
    assert "密码长度太短" in short  # the built-in validators' messages come translated


def test_the_password_pages_of_a_visitor_are_in_chinese(client):
    assert "忘记密码了？" in client.get(reverse("password_reset"), headers=ZH).content.decode()
    done = client.get(reverse("password_reset_done"), headers=ZH).content.decode()
    assert "请查收邮件" in done and "返回登录" in done
    assert "此链接已失效" in client.get("/accounts/reset/MQ/set-password/", headers=ZH).content.decode()


def _reset_email(client, headers):
    mail.outbox.clear()
    response = client.post(reverse("password_reset"), {"email": "owner@example.com"}, headers=headers, follow=True)
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def test_the_reset_email_goes_out_in_the_recipients_chosen_language(client, owner):
    Preferences.objects.create(user=owner, language="zh-hans")
    email = _reset_email(client, EN)  # the page is English, the recipient chose Chinese
    assert email.subject == "设置妙画工作室的新密码"
    assert "owner，你好：" in email.body
    assert "有人（希望是你本人）申请为你在 testserver 的妙画工作室账号设置新密码。" in email.body
    assert "此链接只能使用一次。" in email.body
    assert re.search(r"http://testserver/accounts/reset/\S+/", email.body)

    Preferences.objects.filter(user=owner).update(language="en")
    email = _reset_email(client, ZH)  # the page is Chinese, the recipient chose English
    assert email.subject == "Set a new password for Miaohua Studio"
    assert email.body.startswith("Hello owner,")
    assert "你好" not in email.body


def test_without_a_choice_the_reset_email_is_in_the_pages_language(client, owner):
    assert _reset_email(client, ZH).subject == "设置妙画工作室的新密码"
    client.cookies.clear()
    assert _reset_email(client, EN).subject == "Set a new password for Miaohua Studio"


def test_the_upstream_settings_page_is_in_chinese(client, owner):
    client.force_login(owner)
    page = client.get(reverse("upstream_settings"), headers=ZH).content.decode()
    assert "<title>设置 · 妙画工作室</title>" in page
    for text in ("妙画账号", "妙画邮箱", "妙画密码", "你注册妙画时使用的邮箱。", ">连接<", "你还没有连接妙画账号。"):
        assert text in page, text

    refused = client.post(
        reverse("upstream_settings"), {"email": "not-an-email", "password": ""}, headers=ZH
    ).content.decode()
    assert "这个字段是必填项。" in refused and "输入一个有效的 Email 地址。" in refused


def test_a_connected_account_is_described_in_chinese(client, owner):
    from miaohua_site.accounts.services import upstream_account_store

    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    page = client.get(reverse("upstream_settings"), headers=ZH).content.decode()
    assert "已以 <strong>demo@example.com</strong> 连接，自 " in page
    assert ">更换<" in page and ">断开连接<" in page
    response = client.post(reverse("upstream_disconnect"), headers=ZH, follow=True)
    assert "已断开连接。你的妙画密码和令牌已从工作室中删除。" in response.content.decode()


def test_a_vendor_error_is_explained_in_chinese_on_the_page(client, owner, settings):
    settings.MIAOHUA_API_BASE = "http://127.0.0.1:9/api/v1b/"  # nothing listens on the discard port
    client.force_login(owner)
    response = client.post(
        reverse("upstream_settings"), {"email": "demo@example.com", "password": "demo"}, headers=ZH
    )
    page = response.content.decode()
    assert "无法连接妙画来验证这些凭据。目前无法连接图片服务，稍后将自动重试。" in page


def test_a_vendor_error_stored_by_a_worker_is_english_and_shown_in_the_readers_language():
    # A worker has no reader: what it stores is English, whatever language happens to be active.
    with translation.override("zh-hans"):
        stored = [
            english(LoginFailed("no").user_message),
            english(UpstreamTimeout("slow", seconds=10.0).user_message),
            english(InvalidParameter("n_images must be at most 4").user_message),
            english(AccountLimit("limit", code=124).user_message),
        ]
    assert stored == [
        "Miaohua refused the email or password. Check the account's credentials.",
        "Miaohua took longer than 10 s to answer; try again.",
        "Miaohua refused a parameter: n_images must be at most 4",
        "The Miaohua account's balance is too low for this task (Miaohua's own limit on the account, not your team "
        "quota): top up the account at Miaohua, or ask for fewer images.",
    ]
    template = Template("{{ message|stored_message }}")
    with translation.override("zh-hans"):
        chinese = [template.render(Context({"message": text})) for text in stored]
    assert chinese[0] == "妙画拒绝了邮箱或密码。请检查账号的凭据。"
    assert chinese[1] == "妙画超过 10 秒未响应，请重试。"
    assert chinese[2] == "妙画拒绝了一个参数：n_images must be at most 4"  # the vendor's own words stay
    assert chinese[3].startswith("妙画账号余额不足以完成此任务")
    with translation.override("en"):
        assert [shown(text) for text in stored] == stored


def test_a_vendor_errors_user_message_follows_the_active_language():
    error = UpstreamTimeout("slow", seconds=2.5)
    with translation.override("zh-hans"):
        assert str(error.user_message) == "妙画超过 2.5 秒未响应，请重试。"
    with translation.override("en"):
        assert str(error.user_message) == "Miaohua took longer than 2.5 s to answer; try again."


def test_a_bad_parameter_is_explained_in_chinese_on_the_400_page(client, owner):
    client.force_login(owner)
    response = client.get(reverse("upstream_settings") + "?q=a%00b", headers=ZH)
    assert response.status_code == 400
    page = response.content.decode()
    assert "<title>请求无效 · 妙画工作室</title>" in page
    assert "无法处理此请求" in page
    assert "「q」包含 NUL 字符（\\0），任何字段都不接受该字符。请删除后重试。" in page

    english_page = client.get(reverse("upstream_settings") + "?q=a%00b", headers=EN).content.decode()
    assert "“q” contains a NUL character" in english_page


def test_the_not_found_page_is_in_chinese(client, owner):
    client.force_login(owner)
    response = client.get("/no-such-page/", headers=ZH)
    assert response.status_code == 404
    assert "这里什么也没有，或者你无权查看。" in response.content.decode()


def test_durations_read_in_chinese():
    with translation.override("zh-hans"):
        assert human_duration(8) == "8 秒"
        assert human_duration(125) == "2 分 5 秒"
        assert human_duration(3840) == "1 小时 4 分"
    with translation.override("en"):
        assert human_duration(125) == "2 min 5 s"


def test_a_paused_sign_in_says_so_in_chinese(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "owner", "password": "wrong-pass"}, headers=ZH)
    locked = client.post(reverse("login"), {"username": "owner", "password": "owner-pass-123"}, headers=ZH)
    assert locked.status_code == 429
    page = locked.content.decode()
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"此用户名的密码错误次数过多。登录已暂停 {minutes} 分钟：请在 " in page
    assert "管理员可以提前解除暂停。" in page and "Too many" not in page


def test_the_server_error_page_is_in_chinese():
    from django.template import loader

    with translation.override("zh-hans"):
        page = loader.render_to_string("500.html")
    assert '<html lang="zh-Hans">' in page and "<h1>出错了</h1>" in page and "返回妙画工作室" in page
    with translation.override("en"):
        assert "<h1>Something went wrong</h1>" in loader.render_to_string("500.html")


def test_a_permission_refusal_is_explained_in_chinese(client, owner):
    client.force_login(owner)
    response = client.get(reverse("team_account_settings"), headers=ZH)
    assert response.status_code == 403
    page = response.content.decode()
    assert "<title>无权访问 · 妙画工作室</title>" in page and "只有管理员可以执行此操作。" in page


def test_a_parameters_reason_is_in_chinese_in_the_htmx_fragment_and_in_english_for_english(rf):
    from django.http import QueryDict

    from miaohua_site.params import BadParameter, IdField, date_range, int_param
    from miaohua_site.views import bad_request

    def reason(language, data):
        with translation.override(language):
            try:
                int_param(QueryDict(data), "image")
            except BadParameter as exc:
                request = rf.get("/", headers={"HX-Request": "true"})
                request.htmx = True
                return exc, bad_request(request, exc).content.decode()
        raise AssertionError("no BadParameter")

    _, chinese = reason("zh-hans", "image=abc")
    assert chinese == '<p class="mb-0" role="alert">「image」必须是整数（ID），而不是「abc」。</p>'
    _, english_fragment = reason("en", "image=abc")
    assert "“image” must be a whole number (an id), not “abc”." in english_fragment

    errors = {}
    with translation.override("zh-hans"):
        date_range(QueryDict("from=2026-11-02&to=2026-11-01"), errors)
        assert str(errors["to"]) == "结束日期早于开始日期。"
        field = IdField(what="The chosen init image")
        assert "不是有效的选择" in str(field.error_messages["invalid"])
    with translation.override("en"):
        assert str(field.error_messages["invalid"]).startswith("The chosen init image is not a valid choice")
