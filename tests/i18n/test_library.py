"""The library in Simplified Chinese (issue #11): history and the team gallery (filters, empty states, counts),
a failed task's reason stored in English and shown in the reader's language, collections, compare and the trash,
dates in the Chinese format. The English pages are unchanged (tests/generation)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from generation.images import HOST_NOT_ALLOWED
from generation.models import GeneratedImage, GenerationTask
from generation.services.poller import TIMED_OUT, VENDOR_FAILED
from generation.templatetags.studio import elapsed, in_line
from library import collections
from miaohua_site.i18n import english
from tests.library.library_helpers import make_task

pytestmark = pytest.mark.django_db

ZH = {"Accept-Language": "zh-Hans"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def page(client, url, headers=ZH, status=200):
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.status_code
    return response.content.decode()


def test_the_empty_history_speaks_chinese(client, owner):
    client.force_login(owner)
    content = page(client, reverse("history"))
    assert "<title>历史记录" in content
    for label in ("搜索提示词", "提示词中的字词…", "模型", "全部", "文生图", "图生图", "状态", "起始日期",
                  "结束日期", "我的收藏", "筛选", "合集", "回收站", "团队", "我的"):
        assert label in content, label
    assert "还没有任务。" in content and "生成你的第一批图片" in content
    # The state filter lists the task states by their Chinese names.
    for state in ("排队中", "提交中", "生成中", "已完成", "失败"):
        assert f">{state}</option>" in content, state
    assert "Search prompts" not in content and "No tasks yet." not in content


def test_filters_that_match_nothing_and_a_bad_member_say_so_in_chinese(client, owner, media):
    make_task(owner, prompt="a lighthouse at dusk")
    client.force_login(owner)
    content = page(client, reverse("history") + "?q=whale")
    assert "没有符合这些筛选条件的结果。" in content and "清除筛选条件" in content
    content = page(client, reverse("gallery") + "?member=abc")
    assert "<title>团队画廊" in content
    assert "部分筛选条件需要检查：" in content and "请从列表中选择一位成员。" in content
    assert "所有人" in content


def test_a_tile_and_its_image_in_chinese_with_chinese_dates(client, owner, media):
    made = datetime(2026, 11, 3, 14, 5, tzinfo=UTC)
    task = make_task(owner, prompt="a lighthouse at dusk", n_images=2, select_seed=777, created_at=made)
    client.force_login(owner)
    with timezone.override(UTC):
        content = page(client, reverse("history"))
    assert "11月3日" in content and "Nov" not in content
    assert 'aria-label="收藏"' in content and 'title="种子"' in content
    assert f'aria-label="选择任务 {task.pk}"' in content
    assert "已选择 <strong data-bulk-count>0</strong> 项" in content
    for label in ("加入合集", "下载 ZIP", "对比两个", "删除", "导出 JSON"):
        assert label in content, label

    image = task.images.get(save_index=0)
    content = page(client, reverse("image_detail", args=[image.pk]))
    assert f"任务 {task.pk} 的第 1 张图片" in content
    assert "第 1 / 2 张" in content and "下一张" in content
    for label in ("下载原图（48 × 48）", "复用设置", "…使用相同种子", "用作初始图", "用作 ControlNet 图片",
                  "反推提示词", "删除此任务", "发送的参数", "复制为 JSON", "创建时间"):
        assert label in content, label
    assert "2026年11月3日" in content


def test_a_failed_tasks_stored_english_reason_is_shown_in_the_readers_language(client, owner, media):
    timed_out = make_task(owner, prompt="a slow one", n_images=0, state=GenerationTask.State.FAILED,
                          error_message=english(TIMED_OUT, minutes="15"))
    refused = make_task(owner, prompt="a refused one", n_images=0, state=GenerationTask.State.FAILED,
                        error_message=english(VENDOR_FAILED, reason="the prompt was refused."))
    assert timed_out.error_message == "timed out upstream: Miaohua did not finish the task within 15 minutes."
    client.force_login(owner)

    zh = page(client, reverse("task_detail", args=[timed_out.pk]))
    assert "上游超时：妙画未在 15 分钟内完成任务。" in zh
    assert "重试" in zh and "编辑设置" in zh and f"<h1>任务 {timed_out.pk}</h1>" in zh
    en = page(client, reverse("task_detail", args=[timed_out.pk]), headers=EN)
    assert "timed out upstream: Miaohua did not finish the task within 15 minutes." in en
    assert "上游超时" not in en

    # The vendor's own reason stays as it came; our sentence around it is translated.
    zh = page(client, reverse("task_detail", args=[refused.pk]))
    assert "妙画无法生成图片：the prompt was refused." in zh
    zh = page(client, reverse("compare") + f"?a={timed_out.pk}&b={refused.pk}")
    assert "失败：上游超时：妙画未在 15 分钟内完成任务。" in zh
    en = page(client, reverse("compare") + f"?a={timed_out.pk}&b={refused.pk}", headers=EN)
    assert "Failed: Miaohua could not generate the images: the prompt was refused." in en


def test_an_images_stored_download_failure_is_shown_in_chinese(client, owner, media):
    task = make_task(owner, n_images=1)
    task.images.update(mirror_state=GeneratedImage.MirrorState.FAILED, thumbnail="",
                       mirror_error=english(HOST_NOT_ALLOWED, host="evil.example"))
    client.force_login(owner)
    zh = page(client, reverse("task_detail", args=[task.pk]))
    assert "未保存：不从 evil.example 下载图片（不是允许的图片主机）。" in zh
    en = page(client, reverse("task_detail", args=[task.pk]), headers=EN)
    assert "Not stored: Images are not downloaded from evil.example (not an allowed image host)." in en


def test_the_trash_counts_and_dates_in_chinese(client, owner, media):
    now = timezone.now()
    for prompt in ("one", "two"):
        make_task(owner, prompt=prompt, n_images=1, deleted_at=now - timedelta(hours=2),
                  created_at=datetime(2026, 10, 9, 8, 0, tzinfo=UTC))
    client.force_login(owner)
    content = page(client, reverse("trash"))
    assert "<h1>回收站</h1>" in content
    assert "共 2 个已删除的任务，最近删除的排在前面。" in content
    assert "已删除的任务会在这里保留 30 天，之后任务及其图片将被永久删除。" in content
    assert "创建于 2026年10月9日 · 删除于 2小时之前"  # naturaltime is Django's own in content
    assert "恢复所选" in content
    GenerationTask.objects.update(deleted_at=None)
    assert "回收站是空的。" in page(client, reverse("trash"))

    response = client.post(reverse("tasks_restore"), headers=ZH, follow=True)
    assert "请选择要恢复的任务。" in response.content.decode()


def test_collections_in_chinese(client, owner, teammate, media):
    task = make_task(owner, n_images=3)
    client.force_login(owner)
    content = page(client, reverse("collection_list"))
    for label in ("我的合集", "还没有合集。", "团队共享的合集", "新建合集", "名称", "描述", "与团队共享",
                  "每位成员都可以打开，只有你可以修改。", "创建合集"):
        assert label in content, label

    response = client.post(reverse("collection_list"), {"name": "  "}, headers=ZH)
    assert response.status_code == 400
    assert "这个字段是必填项。" in response.content.decode()  # Django's own message, in Chinese

    response = client.post(reverse("collection_list"), {"name": "Blue hour"}, headers=ZH, follow=True)
    content = response.content.decode()
    assert "已创建合集「Blue hour」。" in content
    collection = collections.own_collections(owner).get(name="Blue hour")
    collections.collection_add_images(user=owner, collection=collection, images=list(task.images.all()))
    content = page(client, reverse("collection_detail", args=[collection.pk]))
    assert "3 张图片" in content and "私有" in content and "移除所选" in content
    assert "编辑或删除此合集" in content and "删除此合集" in content and "设为封面" in content

    response = client.post(reverse("collection_list"), {"name": "Blue hour"}, headers=ZH)
    assert "你已经有一个名为「Blue hour」的合集。" in response.content.decode()

    content = page(client, reverse("collection_list"))
    assert "3 张图片" in content

    # Adding again: the picker answers with counts in Chinese.
    response = client.post(reverse("collection_add"), {"task": task.pk, "collection": collection.pk},
                           headers={**ZH, "HX-Request": "true"})
    content = response.content.decode()
    assert "已将 0 张图片加入" in content and "其中 3 张已在合集中。" in content
    content = page(client, reverse("collection_picker") + f"?task={task.pk}")
    assert "已选择 3 张图片。" in content and "加入合集" in content


def test_compare_in_chinese(client, owner, media):
    a = make_task(owner, prompt="left", scale=7)
    b = make_task(owner, prompt="right", scale=9)
    client.force_login(owner)
    content = page(client, reverse("compare"))
    assert "选择两个任务进行并排对比。" in content and "对比" in content
    content = page(client, reverse("compare") + f"?a={a.pk}&b={b.pk}")
    assert f"对比任务 {a.pk} 和 {b.pk}" in content
    assert "个参数不同（已高亮）。" in content
    assert ">模型<" in content and ">模式<" in content and "文生图" in content
    content = page(client, reverse("compare") + "?a=x&b=2", status=400)
    assert "请输入两个要对比的任务编号" in content


def test_the_small_words_of_a_card_follow_the_language(owner):
    class Task:
        created_at = timezone.now() - timedelta(seconds=125)
        finished_at = None

    with translation.override("zh-hans"):
        assert elapsed(Task()) == "2 分 5 秒"
        assert in_line(1) == "即将轮到" and in_line(3) == "排第 3 位"
    with translation.override("en"):
        assert elapsed(Task()) == "2 min 5 s"
        assert in_line(1) == "next" and in_line(3) == "3rd in line" and in_line(12) == "12th in line"


def test_messages_after_moving_to_the_trash_are_in_chinese_with_counts(client, owner, media):
    tasks = [make_task(owner, n_images=1) for _ in range(2)]
    client.force_login(owner)
    response = client.post(reverse("tasks_delete"), {"task": [t.pk for t in tasks]}, headers=ZH, follow=True)
    assert "已将 2 个任务移到回收站，30 天内可以恢复。" in response.content.decode()
    response = client.post(reverse("tasks_restore"), {"task": [tasks[0].pk]}, headers=EN, follow=True)
    assert "Restored 1 task." in response.content.decode()


LAYOUT = ("My queue", "Your tasks in progress", "Queue")  # the shared layout's, translated by its own part
OTHERS = ("Use a date like",)  # miaohua_site/params.py: the date filters' message, not the library's


def library_english(html: str, *data) -> list[str]:
    from tests.i18n.english import english_left, words_of

    left = english_left(html, words_of(*data))
    return [text for text in left if not text.startswith(LAYOUT) and not any(o in text for o in OTHERS)]


def test_no_english_of_ours_is_left_on_the_library_pages_in_their_many_states(client, owner, teammate, viewer,
                                                                             media):
    done = make_task(owner, prompt="a lighthouse at dusk", n_images=2)
    failed = make_task(owner, prompt="a slow one", n_images=0, state=GenerationTask.State.FAILED,
                       error_message=english(TIMED_OUT, minutes="15"))
    missing = make_task(owner, prompt="a lost one", n_images=1)
    missing.images.update(mirror_state=GeneratedImage.MirrorState.FAILED, thumbnail="",
                          mirror_error=english(HOST_NOT_ALLOWED, host="evil.example"))
    queued = make_task(owner, prompt="a waiting one", n_images=2, state=GenerationTask.State.QUEUED, finished_at=None)
    queued.images.all().delete()
    pending = make_task(owner, prompt="a running one", n_images=1, state=GenerationTask.State.PENDING,
                        finished_at=None, wait_time=12.0, kind=GenerationTask.Kind.IMG2IMG)
    pending.images.all().delete()
    theirs = make_task(teammate, prompt="a shared fox", n_images=1)
    mine = collections.collection_create(user=owner, name="Dusk", description="", is_shared=True)
    collections.collection_add_images(user=owner, collection=mine, images=list(done.images.all()))
    shared = collections.collection_create(user=teammate, name="Foxes", description="", is_shared=True)
    collections.collection_add_images(user=teammate, collection=shared, images=list(theirs.images.all()))
    make_task(owner, prompt="a deleted one", n_images=1, deleted_at=timezone.now())
    data = ["one lighthouse dusk slow lost waiting running shared fox deleted Dusk Foxes Artist evil example owner",
            "teammate viewer"]

    client.force_login(owner)
    urls = [
        reverse("history"), reverse("history") + "?q=nothing", reverse("history") + "?member=x&from=2026-13-01",
        reverse("gallery"), reverse("trash"), reverse("collection_list"),
        reverse("collection_detail", args=[mine.pk]), reverse("collection_detail", args=[shared.pk]),
        reverse("collection_picker") + f"?task={done.pk}", reverse("compare"),
        reverse("compare") + f"?a={done.pk}&b={failed.pk}", reverse("compare") + "?a=x&b=1",
        reverse("image_detail", args=[done.images.first().pk]),
        reverse("image_detail", args=[theirs.images.first().pk]),
    ] + [reverse("task_detail", args=[t.pk]) for t in (done, failed, missing, queued, pending, theirs)]
    leaks = {}
    for url in urls:
        for headers in (ZH, {**ZH, "HX-Request": "true"}):
            response = client.get(url, headers=headers)
            assert response.status_code in (200, 400, 404), (url, response.status_code)
            left = library_english(response.content.decode(), *data)
            if left:
                leaks[url] = left
    client.force_login(viewer)
    for url in (reverse("collection_list"), reverse("gallery")):
        left = library_english(page(client, url), *data)
        if left:
            leaks[f"{url} (viewer)"] = left
    assert not leaks, "\n".join(f"{url}: {left}" for url, left in leaks.items())
