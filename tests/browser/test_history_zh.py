"""In Chinese (issue #11): a person searches their history, opens an image, favourites it and adds it to a new
collection, all by the translated labels."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from generation.models import GenerationTask
from library.models import Collection
from tests.library.library_helpers import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_open_favourite_and_collect_in_chinese(sign_in, owner, settings, tmp_path, live_server, page: Page):
    settings.MEDIA_ROOT = tmp_path / "media"
    now = timezone.now()
    make_task(owner, prompt="a blue whale in deep water", created_at=now - timedelta(minutes=9))
    older = make_task(
        owner, prompt="a lighthouse on a cliff at dusk", n_images=2, created_at=now - timedelta(minutes=5)
    )
    newer = make_task(owner, prompt="a lighthouse in the fog", n_images=1, created_at=now - timedelta(minutes=1))

    sign_in("owner", "owner-pass-123")
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.goto(live_server.url + "/history/")
    expect(page.get_by_role("heading", name="历史记录", exact=True)).to_be_visible()
    expect(page.get_by_role("article")).to_have_count(3)

    page.get_by_label("搜索提示词").fill("lighthouse")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("article")).to_have_count(2)
    expect(page.get_by_role("article", name=f"任务 {newer.pk}")).to_contain_text("fog")
    expect(page.get_by_role("link", name="清除")).to_be_visible()

    page.get_by_role("article", name=f"任务 {older.pk}").get_by_role("link").first.click()
    viewer = page.get_by_role("dialog", name="图片查看器")  # the viewer opens over the history page
    expect(viewer.get_by_role("heading", name=f"任务 {older.pk} 的第 1 张图片")).to_be_visible()
    expect(viewer.get_by_text("第 1 / 2 张")).to_be_visible()
    viewer.get_by_role("link", name="下一张").click()
    expect(viewer.get_by_role("heading", name=f"任务 {older.pk} 的第 2 张图片")).to_be_visible()

    viewer.get_by_role("button", name="收藏", exact=True).click()
    expect(viewer.get_by_role("button", name="取消收藏")).to_have_attribute("aria-pressed", "true")
    assert GenerationTask.objects.get(pk=older.pk).is_favourite

    viewer.get_by_role("button", name="加入合集").click()
    dialog = page.get_by_role("dialog", name="加入合集")
    expect(dialog.get_by_text("已选择 1 张图片。")).to_be_visible()
    dialog.get_by_label("新建合集").fill("雾中灯塔")
    dialog.get_by_role("button", name="添加").click()
    expect(dialog.get_by_role("status")).to_contain_text("已将 1 张图片加入雾中灯塔。")
    assert Collection.objects.get(owner=owner, name="雾中灯塔").items.count() == 1

    page.goto(live_server.url + "/history/?fav=1")
    expect(page.get_by_role("article")).to_have_count(1)
    expect(page.get_by_label("我的收藏")).to_be_checked()
    page.goto(live_server.url + "/collections/")
    expect(page.get_by_role("heading", name="我的合集")).to_be_visible()
    expect(page.get_by_role("link", name="雾中灯塔")).to_contain_text("1 张图片")
