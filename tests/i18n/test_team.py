"""The team's pages, messages and emails in Simplified Chinese (issue #11): members, invitations, quotas, usage and
the audit log; the invitation email in the inviting admin's language, the quota alert in each admin's own."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from generation.models import GenerationTask
from miaohua_site.accounts.models import Preferences
from miaohua_site.audit.models import AuditEvent
from miaohua_site.i18n import shown
from team.models import QuotaAlert, TeamSettings
from team.services import members, quotas

pytestmark = pytest.mark.django_db

ZH = "zh-hans"


def in_chinese(client):
    client.cookies["django_language"] = ZH
    return client


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


def text(response) -> str:
    return response.content.decode()


def test_the_members_page_in_chinese(as_admin, owner, viewer):
    members.invitation_create(email="new@example.com", role="viewer", uses_team_account=False, invited_by=None)
    page = text(in_chinese(as_admin).get(reverse("team_members")))
    for words in (
        "<h1>成员</h1>",
        "通过邮箱邀请",
        "发送邀请",
        "待接受的邀请（1）",
        "复制链接",
        "撤销",
        "上次登录",
        "重置密码链接",
        "停用…",
        "可使用团队账号",
        '<option value="viewer">访客</option>',
        '<option value="admin">管理员</option>',
        "链接只能使用一次，7 天内有效。",
    ):
        assert words in page, words
    assert "Send invitation" not in page and "Waiting invitations" not in page


def test_the_invitation_email_is_in_the_language_of_the_page_it_was_sent_from(as_admin, settings):
    settings.TEAM_INVITATION_DAYS = 3
    response = in_chinese(as_admin).post(reverse("team_member_invite"), {"email": "li@example.com", "role": "viewer"})
    assert response.status_code == 200
    assert "发给 li@example.com 的邀请" in text(response) and "已发送邮件。" in text(response)
    chinese = mail.outbox[-1]
    assert chinese.subject == "你受邀加入妙画工作室"
    assert "admin 邀请你以访客身份加入妙画工作室的团队。" in chinese.body
    assert "此链接只能使用一次，3 天后过期" in chinese.body and "invites you" not in chinese.body

    as_admin.cookies["django_language"] = "en"
    as_admin.post(reverse("team_member_invite"), {"email": "ann@example.com", "role": "member"})
    english = mail.outbox[-1]
    assert english.subject == "You are invited to Miaohua Studio"
    assert "admin invites you to join the team on Miaohua Studio as member." in english.body
    assert "expires in 3 days" in english.body


def test_invitation_plurals(as_admin, settings):
    settings.TEAM_INVITATION_DAYS = 1
    english = text(as_admin.get(reverse("team_members")))
    assert "The link works once, for 1 day." in english
    settings.TEAM_INVITATION_DAYS = 2
    assert "The link works once, for 2 days." in text(as_admin.get(reverse("team_members")))
    assert "链接只能使用一次，2 天内有效。" in text(in_chinese(as_admin).get(reverse("team_members")))


def test_a_role_change_is_told_in_chinese_and_a_refusal_beside_the_role(as_admin, owner, admin_user):
    in_chinese(as_admin)
    response = as_admin.post(reverse("team_member_role", args=[owner.pk]), {"role": "viewer"}, follow=True)
    assert "owner 现在是访客。" in text(response)
    refused = as_admin.post(reverse("team_member_role", args=[admin_user.pk]), {"role": "member"})
    assert refused.status_code == 400
    assert "admin 是最后一位在用的管理员：请先将其他人设为管理员，再更改此角色。" in text(refused)
    as_admin.cookies["django_language"] = "en"
    response = as_admin.post(reverse("team_member_role", args=[owner.pk]), {"role": "member"}, follow=True)
    assert "owner is now member." in text(response)


def test_the_join_page_and_its_errors_in_chinese(client, admin_user):
    _, sent = members.invitation_create(
        email="new@example.com", role="viewer", uses_team_account=False, invited_by=admin_user
    )
    path = sent.url
    page = text(in_chinese(client).get(path))
    assert "加入团队" in page and "你受邀以<strong>访客</strong>身份加入妙画工作室" in page and "加入并登录" in page
    response = client.post(path, {"username": "li", "password1": "a-Long-pass-123", "password2": "other-Pass-456"})
    assert response.status_code == 400 and "两次输入的密码不一致，请输入相同的密码。" in text(response)
    assert "此邀请链接无效。" in text(client.get("/team/members/join/not-a-token/"))


def test_deactivation_stores_english_and_shows_chinese(as_admin, owner, admin_user):
    queued = GenerationTask.objects.create(owner=owner, prompt="a cat", state=GenerationTask.State.QUEUED)
    page = text(in_chinese(as_admin).get(reverse("team_member_deactivate", args=[owner.pk])))
    assert "停用 owner" in page and "会发生什么" in page and "谁接收其合集和数据集" in page
    response = as_admin.post(
        reverse("team_member_deactivate", args=[owner.pk]), {"receiver": str(admin_user.pk)}, follow=True
    )
    assert "owner 已被停用并退出登录。0 个合集和 0 个数据集已移交给 admin；1 个排队中的任务未发送。" in text(response)
    queued.refresh_from_db()
    assert queued.error_message == "Not sent: owner was deactivated before this went to Miaohua."
    with translation.override(ZH):
        assert shown(queued.error_message) == "未发送：owner 在发送到妙画之前已被停用。"
    with translation.override("en"):
        assert shown(queued.error_message) == queued.error_message


def test_the_quotas_page_and_its_errors_in_chinese(as_admin, owner):
    page = text(in_chinese(as_admin).get(reverse("team_quotas")))
    for words in (
        "<h1>配额</h1>",
        "团队默认值",
        "每日图片数",
        "每月图片数",
        "同时进行的任务数",
        "保存团队默认值",
        'placeholder="不限"',
        'placeholder="使用团队默认值"',
    ):
        assert words in page, words
    response = as_admin.post(reverse("team_quota_defaults"), {"images_per_day": "-3"})
    assert response.status_code == 400
    assert "请输入 0 到 10,000,000 之间的整数，或留空表示不限。" in text(response)
    assert "有些数字需要检查" in text(response)
    saved = as_admin.post(reverse("team_quota_defaults"), {"images_per_day": "10"}, follow=True)
    assert "团队默认配额已保存。" in text(saved)


def test_the_quota_words_of_the_generate_page_in_chinese(owner):
    TeamSettings.objects.update_or_create(pk=1, defaults={"images_per_day": 5})
    status = quotas.quota_status(owner)
    with translation.override(ZH):
        assert status.summary == "今天 0 / 5 张图片 · 00:00 重置"
        assert quotas.refusal(quotas.Quota("day", 5, 4, None)) == (
            "你的每日配额为 5 张图片；已用 4 张，剩余 1 张（午夜重置）。请减少图片数量或稍后再试。"
        )
    with translation.override("en"):
        assert status.summary == "Today 0 / 5 images · resets at 00:00"
        assert quotas.refusal(quotas.Quota("day", 1, 1, None)).startswith(
            "Your daily quota is 1 image; 1 is used, so none is left"
        )


def test_a_quota_alert_is_emailed_to_each_admin_in_their_own_language(owner, admin_user, django_user_model):
    chinese_admin = django_user_model.objects.create_user("lin", "lin@example.com", "x", is_staff=True)
    Preferences.objects.create(user=chinese_admin, language=ZH)
    Preferences.objects.create(user=admin_user, language="en")
    alert = QuotaAlert.objects.create(user=owner, kind="day", period_start=timezone.localdate(), used=8, limit=10)
    with translation.override(ZH):  # whatever the worker's language, each admin reads their own
        assert quotas.quota_alert_notify(alert.pk) == 2
    by_address = {message.to[0]: message for message in mail.outbox}
    english, chinese = by_address["admin@example.com"], by_address["lin@example.com"]
    assert english.subject == "Quota: owner passed 80 % of their images per day"
    assert "owner has used 8 of 10 images today (80 %)." in english.body and "/team/quotas/" in english.body
    assert chinese.subject == "配额：owner 的每日图片数用量已超过 80%"
    assert "owner 今天已使用 10 张图片中的 8 张（80%）。" in chinese.body
    assert "配额在团队的配额页面设置（/team/quotas/）。" in chinese.body


def test_the_quota_alerts_on_the_quotas_page_in_chinese(as_admin, owner):
    QuotaAlert.objects.create(user=owner, kind="day", period_start=timezone.localdate(), used=8, limit=10)
    page = text(in_chinese(as_admin).get(reverse("team_quotas")))
    assert "用量超过 80% 的成员" in page and "全部标为已读" in page
    assert re.search(r"<strong>owner</strong> 在 \S+ 已使用 10 张图片中的 8 张（每日图片数）。", page)


def test_the_usage_page_in_chinese_with_plurals(client, owner):
    client.force_login(owner)
    GenerationTask.objects.create(
        owner=owner, prompt="a fox", n_images=1, state=GenerationTask.State.DONE, model_name="sim"
    )
    english = text(client.get(reverse("usage")))
    assert "<strong>1</strong> image ·" in english and "<strong>1</strong> task ·" in english
    assert "<strong>0</strong> training jobs" in english
    page = text(in_chinese(client).get(reverse("usage")))
    for words in (
        "<h1>用量</h1>",
        "你自己的用量",
        "<strong>1</strong> 张图片",
        "<strong>1</strong> 个任务",
        "<strong>0</strong> 个训练任务",
        "按原因统计的失败",
        "图片占比",
        "最近 30 天",
        "导出 CSV",
        "每天图片数（按模型）",
        "此范围内没有失败的任务。",
    ):
        assert words in page, words
    GenerationTask.objects.create(
        owner=owner, prompt="a fox", n_images=2, state=GenerationTask.State.DONE, model_name="sim"
    )
    client.cookies["django_language"] = "en"
    assert "<strong>3</strong> images ·" in text(client.get(reverse("usage")))


def test_the_usage_csv_keeps_english_headers(client, owner):
    GenerationTask.objects.create(
        owner=owner, prompt="a fox", n_images=1, state=GenerationTask.State.DONE, model_name="sim"
    )
    client.force_login(owner)
    body = in_chinese(client).get(reverse("usage_export")).content.decode("utf-8-sig")
    assert body.splitlines()[0] == "period,period start,breakdown,name,id,tasks,images,failed"
    assert ",Model,sim," in body


def test_a_usage_filter_error_in_chinese(client, owner):
    client.force_login(owner)
    response = in_chinese(client).get(reverse("usage"), {"period": "decade"})
    assert response.status_code == 400 and "请选择天、周或月。" in text(response)


def test_the_audit_log_in_chinese(as_admin, admin_user):
    members.invitation_create(email="new@example.com", role="member", uses_team_account=False, invited_by=admin_user)
    event = AuditEvent.objects.get(action=AuditEvent.Action.INVITATION_SENT)
    assert event.target_repr == "Invitation for new@example.com"  # stored in English
    page = text(in_chinese(as_admin).get(reverse("audit_log")))
    for words in (
        "<h1>审计日志</h1>",
        "已发送邀请",
        "发给 new@example.com 的邀请",
        "事件保留",
        "导出 CSV",
        "筛选",
        '<option value="">任何人</option>',
    ):
        assert words in page, words
    response = as_admin.get(reverse("audit_export"))
    export = b"".join(response.streaming_content).decode("utf-8-sig")
    assert export.splitlines()[0].startswith("when,who,action") and "Invitation sent" in export
    assert "已发送邀请" not in export
    bad = text(as_admin.get(reverse("audit_log"), {"action": "nonsense"}))
    assert "请从列表中选择一个操作。" in bad
