"""Every URL of the product, crawled with bad input, answers something other than a 500 (issue #9 §2).

The URL patterns are walked from the resolver, so a new view is crawled without touching this file. Each path
converter is filled with real ids, a zero, an id beyond the database's 64-bit range and garbage; each
parameter a view reads (learned by watching the QueryDicts during a first, plausible request) and a few known
ones are sent bad values — words, fractions, NaN, an impossible date, an overflowing number, a NUL byte, one
value three times — by GET and POST, as a visitor, a member, a viewer and an admin, with and without ``HX-Request``."""

import os
import re
import time
import uuid
from contextlib import contextmanager

import pytest
from django.core.files.base import ContentFile
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from generation.models import GenerationTask, InputImage
from library.models import Collection, CollectionItem, SavedSearch, Tag, TaskTag
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import catalog as simulator_catalog
from team.models import Membership, Role
from tests.library.library_helpers import make_task, picture
from training.models import Dataset, DatasetImage, TrainingJob

HUGE = "99999999999999999999999999"
BAD_VALUES = ["abc", "1.5", "NaN", "-1", HUGE, "a\x00b", "²", ["1", "abc", "1"], "", "2026-02-31"]
# Sent to every URL whether the view reads them or not (issue #9 §2 names them).
KNOWN = [
    "next",
    "task",
    "image",
    "member",
    "datasets",
    "dataset",
    "collection",
    "init_image_input",
    "init_image_from",
    "cn-0-image_input",
    "cn-0-image_from",
    "idempotency_key",
    "mode",
    "model",
    "cursor",
    "page",
]
# Converters that take words: a few of the values the views know, and garbage.
WORDS = ["thumb", "original", "preview", "models", "loras", "sizes", "controlnets", "status", "abc", "a-b"]
SKIP_PREFIXES = ("simulator/",)  # the vendor's stand-in has its own tests (tests/simulator/)
LIGHT_PREFIXES = ("admin/",)  # Django's admin: its paths filled, the bad values sent all at once


def _routes(patterns=None, prefix=""):
    """(route, converters) for every URL pattern; regex patterns without groups as plain routes."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            route = prefix + str(pattern._route)
            converters = dict(pattern.converters)
        elif isinstance(pattern, RegexPattern) and not pattern.regex.groups:
            route = prefix + pattern._regex.lstrip("^").rstrip("$").replace("\\", "")
            converters = {}
        else:
            continue  # a regex with groups (admin's app index): reached by its own links
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, converters


def _fills(route, ids):
    """The paths of a route: each converter given real ids, 0, an overflowing id or words. Django's admin (its
    own code, 180 routes) gets one real id, an overflowing one and a word."""
    names = re.findall(r"<(?:(\w+):)?(\w+)>", route)
    if not names:
        return [route]
    paths = []
    int_values = [*ids, "0", HUGE]
    if route.startswith(LIGHT_PREFIXES):
        int_values, words = [ids[0], HUGE], [ids[0], HUGE, "abc"]
    else:
        words = WORDS
    for i in range(max(len(int_values), len(words))):
        path = route
        for kind, name in names:
            values = int_values if kind == "int" else words
            path = re.sub(rf"<(?:\w+:)?{name}>", values[i % len(values)], path, count=1)
        paths.append(path)
    return list(dict.fromkeys(paths))


@contextmanager
def watching_reads():
    """The parameter names a view reads from request.GET / request.POST during the block."""
    read = set()
    originals = {name: getattr(QueryDict, name) for name in ("get", "getlist", "__getitem__", "__contains__")}

    def spy(name):
        def method(self, key, *args, **kwargs):
            if isinstance(key, str):
                read.add(key)
            return originals[name](self, key, *args, **kwargs)

        return method

    for name in originals:
        setattr(QueryDict, name, spy(name))
    try:
        yield read
    finally:
        for name, method in originals.items():
            setattr(QueryDict, name, method)


class World:
    """A member's and an admin's things, put back before each URL (a crawl POST may delete or disconnect)."""

    def __init__(self, member, admin, viewer):
        self.member, self.admin, self.viewer = member, admin, viewer
        for user in (member, admin):
            Membership.objects.get_or_create(user=user)
        simulator_catalog.ensure_seeded()
        self.task = make_task(member, n_images=1)
        self.image = self.task.images.first()
        self.admin_task = make_task(admin, n_images=1)
        self.input = InputImage.objects.create(owner=member, width=48, height=48)
        self.input.file.save("in.png", ContentFile(picture()))
        self.ensure()

    def ensure(self):
        # A crawl POST may deactivate someone or change a role (the members pages): back for the next URL.
        # (Conditional UPDATEs: they write only when a POST changed something, and this runs before every request.)
        for user, role in ((self.member, Role.MEMBER), (self.admin, Role.ADMIN), (self.viewer, Role.VIEWER)):
            staff = role == Role.ADMIN
            type(user).objects.filter(pk=user.pk).exclude(is_active=True, is_staff=staff).update(
                is_active=True, is_staff=staff
            )
            Membership.objects.filter(user=user).exclude(role=role, deactivated_at=None).update(
                role=role, deactivated_at=None
            )
        for user in (self.member, self.admin):
            if not UpstreamAccount.objects.filter(user=user).exists():
                upstream_account_store(user=user, email="demo@example.com", password="demo")
        GenerationTask.objects.filter(pk__in=[self.task.pk, self.admin_task.pk]).update(deleted_at=None)
        self.collection, _ = Collection.objects.get_or_create(owner=self.member, name="Crawl", defaults={})
        CollectionItem.objects.get_or_create(collection=self.collection, image=self.image)
        self.saved_search, _ = SavedSearch.objects.get_or_create(
            owner=self.member, name="Crawl", defaults={"query": "q=lighthouse&tag=crawl", "is_shared": True}
        )
        tag, _ = Tag.objects.get_or_create(key="crawl", defaults={"name": "crawl"})
        TaskTag.objects.get_or_create(task=self.task, tag=tag)
        account = UpstreamAccount.objects.get(user=self.admin)
        self.dataset, _ = Dataset.objects.get_or_create(
            name="Crawl set",
            defaults={"created_by": self.admin, "upstream_account": account, "account_email": account.email},
        )
        self.dataset_image = self.dataset.images.first() or DatasetImage.objects.create(
            dataset=self.dataset, original_name="a.png", state=DatasetImage.State.REFUSED, error="crawl"
        )
        self.job, _ = TrainingJob.objects.get_or_create(
            owner=self.admin,
            name="crawl-job",
            defaults={
                "state": TrainingJob.State.FAILED,
                "base_model": "x",
                "main_body": "y",
                "trigger_word": "z",
                "finished_at": timezone.now(),
                "upstream_account": account,
                "account_email": account.email,
            },
        )

    @property
    def ids(self) -> list[str]:
        pks = [self.task.pk, self.image.pk, self.collection.pk, self.dataset.pk, self.dataset_image.pk, self.job.pk]
        return [str(pk) for pk in dict.fromkeys([*pks, self.input.pk, self.admin_task.pk, self.saved_search.pk])]

    def base(self) -> dict:
        """Plausible values for the forms, so a bad value of one field is met past the others' checks."""
        return {
            "idempotency_key": str(uuid.uuid4()),
            "versionid": "sgl_artist_v0.3.5_0925",
            "prompt": "a lighthouse",
            "n_images": "1",
            "scale": "7",
            "ddim_steps": "20",
            "select_seed": "1",
            "output_size": "640x640",
            "mode": "img2img",
            "strength": "0.6",
            "init_image_from": str(self.image.pk),
            "cn-0-cn": "canny",
            "cn-0-control_processor": "canny",
            "cn-0-weight": "1",
            "cn-0-guidance_start": "0",
            "cn-0-guidance_end": "1",
            "cn-0-image_from": str(self.image.pk),
            "email": "demo@example.com",
            "password": "demo",
            "task": str(self.task.pk),
            "image": str(self.image.pk),
            "collection": str(self.collection.pk),
            "name": "crawl",
            "names": "crawl, lighthouse",
            "action": "add",
            "tag": "crawl",
            "scope": "history",
            "query": "q=lighthouse&tag=crawl",
            "new_name": "",
            "share": "1",
            "favourite": "1",
            "a": str(self.task.pk),
            "b": str(self.admin_task.pk),
            "member": str(self.member.pk),
            "datasets": str(self.dataset.pk),
            "dataset": str(self.dataset.pk),
            "generated": str(self.image.pk),
            "image_from": str(self.image.pk),
            "trigger_word": "crawl",
            "base_model": "x",
            "main_body": "y",
            "format": "json",
            "kind": "base",
            "role": "member",
            "receiver": str(self.admin.pk),
            "username": "crawler",
            "password1": "a-Long-pass-123",
            "password2": "a-Long-pass-123",
        }


def _send(client, method, path, data, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    call = client.get if method == "GET" else client.post
    response = call("/" + path, data, headers=headers)
    if hasattr(response, "streaming_content"):
        try:  # an export fails while it streams, if it fails
            b"".join(response.streaming_content)
        except Exception:  # noqa: BLE001 - the person would get a broken download: a 500 for the crawl
            response.status_code = 500
    return response


def crawl(client, world, user) -> tuple[int, list[str]]:
    sent, failures = 0, []

    def check(method, path, data, htmx=False):
        nonlocal sent
        sent += 1
        response = _send(client, method, path, data, htmx)
        if response.status_code >= 500:
            shown = {k: v for k, v in data.items() if world_base.get(k) != v} if isinstance(data, dict) else data
            failures.append(f"{method} /{path} {shown!r} htmx={htmx}: {response.status_code}")
        return response

    for route, _ in _routes():
        if route.startswith(SKIP_PREFIXES):
            continue
        started, before = time.monotonic(), sent
        world.ensure()
        if user is not None:
            client.force_login(user)
        else:
            client.logout()
        world_base = world.base()
        paths = _fills(route, world.ids)
        for path in paths:
            for method in ("GET", "POST"):
                check(method, path, {})
        path = paths[0]
        for method in ("GET", "POST"):
            with watching_reads() as read:
                response = check(method, path, world_base)
            refused_unread = response.status_code in (302, 403) and not (read - {"csrfmiddlewaretoken"})
            if response.status_code == 405 or refused_unread:
                # Sent to sign in, or refused (a viewer, a member at an admins' page), before anything is read:
                # the bad values once, all at a time.
                for value in BAD_VALUES:
                    check(method, path, {key: value for key in KNOWN})
                continue
            keys = sorted((read | set(KNOWN)) - {"csrfmiddlewaretoken"})
            if route.startswith(LIGHT_PREFIXES):
                keys = []
            for value in BAD_VALUES:
                world.ensure()
                check(method, path, {**world_base, **{key: value for key in keys}}, htmx=value == "abc")
            for key in keys:  # one at a time, the others plausible: a word and an overflowing id, a NUL byte
                for value in (["abc", HUGE], "a\x00b"):
                    if method == "POST":
                        world.ensure()
                    check(method, path, {**world_base, key: value}, htmx=key == "next")
        if os.environ.get("CRAWL_TIMES"):
            print(f"{route}: {sent - before} requests, {time.monotonic() - started:.1f} s")
    return sent, failures


@pytest.fixture
def crawler(client, owner, admin_user, viewer, simulator_url, settings, tmp_path, engine_held):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.raise_request_exception = False
    return client, World(owner, admin_user, viewer)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who", ["visitor", "member", "viewer", "admin"])
def test_it_answers_no_500_to_any_input(crawler, owner, admin_user, viewer, who):
    client, world = crawler
    user = {"visitor": None, "member": owner, "viewer": viewer, "admin": admin_user}[who]
    sent, failures = crawl(client, world, user)
    print(f"crawl as {who}: {sent} requests, {len(failures)} answered 500")
    assert not failures, f"{len(failures)} of {sent} requests answered 500:\n" + "\n".join(failures[:80])
