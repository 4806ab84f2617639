"""The vendor's catalogs (models, LoRAs, private models, ControlNets, the generation and training forms, and the
Catalog page's searches), kept in Django's cache and refreshed by the worker.

No web request calls the vendor for a catalog (docs/ARCHITECTURE.md, "What runs where"). A page reads what the
cache holds — with the time it was fetched and a "fresh until" (CATALOG_CACHE_SECONDS) — and, when an entry is
missing or stale, asks for a refresh: a django-q2 job (``generation.tasks.catalog_refresh_job``) fetches it and
stores it. A stale entry is served while its refresh runs. At most one refresh of a catalog runs at a time: the
asker takes a lock key with ``cache.add`` (atomic on Redis, and on our file cache, see miaohua_site/cache.py)
and the job releases it when done. A refresh that fails stores its error beside the entry (with its time), so a
page can say why and offer a retry instead of waiting forever.

A catalog is named by a *spec*, a tuple: ``("base",)``, ``("private",)``, ``("page", "lora", 2, 24, "paper")``.
"""

import hashlib
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_q.tasks import async_task

from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account
from miaohua_site.i18n import english
from miaohua_site.upstream.errors import UpstreamError
from miaohua_site.upstream.types import ControlNet, GenerationForm, Model

logger = logging.getLogger(__name__)

REFRESH_JOB = "generation.tasks.catalog_refresh_job"
MAX_PAGES = 10  # 10 × 100 entries is more than any picker can show
MAX_THREADS = 6  # one refresh job fetches the catalogs it was given side by side

Spec = tuple

# The catalogs a spec can name: whether the answer is the account's own, and how it is fetched.
_PAGE_METHODS = {"base": "models_base", "lora": "models_lora", "private": "models_private"}
_OWN = {"private"}
NAMES = {
    "base": "base models",
    "lora": "LoRAs",
    "private": "your own models",
    "cn_artist": "ControlNets",
    "cn_opensource": "open-source ControlNets",
    "form": "output sizes",
    "train_form": "training choices",
    "page": "catalog",
}

PICKER_LABELS = {
    "models": _("the model list"),
    "loras": _("the LoRA list"),
    "sizes": _("the output sizes"),
    "controlnets": _("the ControlNet types"),
    "train": _("the training choices"),
    "results": _("the catalog"),
}
# The Catalog page's tabs (library.views_collections.CATALOG_KINDS), translated where catalog.html shows them.
CATALOG_KIND_NAMES = (
    gettext_noop("Base models"),
    gettext_noop("LoRAs"),
    gettext_noop("My models"),
    gettext_noop("Artist ControlNets"),
    gettext_noop("Open-source ControlNets"),
)

# Stored in the cache (by a worker), shown in the reader's language with |stored_message.
UNEXPECTED = gettext_noop("The list could not be read (an unexpected error on our side); try again.")
NOT_ASKED = gettext_noop("The background worker could not be asked to fetch this list; try again.")


def fresh_seconds() -> float:
    return settings.CATALOG_CACHE_SECONDS


def _keep_seconds() -> float:
    """How long an entry stays in the cache at all: stale entries are still served while a refresh runs."""
    return max(settings.CATALOG_STALE_SECONDS, fresh_seconds())


def _lock_seconds() -> float:
    """A refresh holds its lock at most this long (a killed worker's lock lapses by itself)."""
    return settings.CATALOG_REFRESH_LOCK_SECONDS


def _retry_seconds() -> float:
    """After a failed refresh, pages wait this long before asking again by themselves (a retry button does not)."""
    return settings.CATALOG_RETRY_SECONDS


def wait_seconds() -> float:
    """A placeholder that has waited this long for a refresh stops spinning and says so, with a retry."""
    return settings.CATALOG_WAIT_SECONDS


@dataclass
class Cached:
    """One catalog as the cache holds it. ``value`` is None until a first fetch succeeded."""

    value: Any = None
    fetched_at: datetime | None = None
    fresh_until: datetime | None = None
    error: str = ""  # the last failed refresh, in plain words
    error_at: datetime | None = None
    refreshing_since: datetime | None = field(default=None, compare=False)  # from the lock, when read

    @property
    def ready(self) -> bool:
        return self.value is not None

    @property
    def stale(self) -> bool:
        return self.fresh_until is None or self.fresh_until <= timezone.now()

    @property
    def refreshing(self) -> bool:
        return self.refreshing_since is not None

    @property
    def failed(self) -> bool:
        """The last refresh failed (and none runs now)."""
        return bool(self.error) and not self.refreshing and (self.fetched_at is None or self.error_at > self.fetched_at)


def _owner(kind: str, account: UpstreamAccount | int) -> str:
    return f"acct{getattr(account, 'pk', account)}" if kind in _OWN else "all"


def _base() -> str:
    return hashlib.md5(settings.MIAOHUA_API_BASE.encode()).hexdigest()[:10]


def _version_key(kind: str, account: UpstreamAccount | int) -> str:
    return ":".join(["catalog", "v2", _base(), _owner(kind, account), kind, "version"])


def _versions(kinds: set[str], account: UpstreamAccount | int) -> dict[str, str]:
    """The current version of each catalog whose pages are asked for (one cache read for all of them). Every
    page of a catalog (searches and paging) is stored under its version, so a refresh drops them all at once by
    starting a new one (``drop_pages``); a version the cache lost is simply a new one."""
    if not kinds:
        return {}
    keys = {kind: _version_key(kind, account) for kind in kinds}
    found = cache.get_many(list(keys.values()))
    versions = {}
    for kind, key in keys.items():
        version = found.get(key)
        if version is None:
            cache.add(key, uuid.uuid4().hex[:12], timeout=_keep_seconds())
            version = cache.get(key) or "0"
        versions[kind] = version
    return versions


def drop_pages(account: UpstreamAccount | int, kind: str) -> None:
    """Every cached page of this catalog (any search, any page number) is dropped: the next view fetches anew."""
    if kind in _PAGE_METHODS:
        cache.set(_version_key(kind, account), uuid.uuid4().hex[:12], timeout=_keep_seconds())


def _keys(specs, account: UpstreamAccount | int) -> dict[Spec, str]:
    versions = _versions({spec[1] for spec in specs if spec[0] == "page" and len(spec) > 1}, account)
    return {spec: _key(spec, account, versions.get(spec[1]) if spec[0] == "page" else None) for spec in specs}


def _key(spec: Spec, account: UpstreamAccount | int, version: str | None = None) -> str:
    name, *params = spec
    kind = params[0] if name == "page" and params else name
    if name == "page" and version is None:
        version = _versions({kind}, account)[kind]
    # Search text goes in hashed: cache keys must not carry spaces or arbitrary characters.
    detail = hashlib.md5("|".join(map(str, params)).encode()).hexdigest()[:16] if params else ""
    parts = ["catalog", "v2", _base(), _owner(kind, account), name, detail]
    return ":".join([*parts, version] if version else parts)


def _lock_key(key: str) -> str:
    return key + ":refreshing"


def read(account: UpstreamAccount, specs: list[Spec]) -> dict[Spec, Cached]:
    """What the cache holds for each spec (an empty entry when nothing), with whether a refresh runs."""
    return _read(account, _keys(specs, account))


def _read(account: UpstreamAccount, keys: dict[Spec, str]) -> dict[Spec, Cached]:
    found = cache.get_many([*keys.values(), *map(_lock_key, keys.values())])
    entries = {}
    for spec, key in keys.items():
        entry = found.get(key) or Cached()
        lock = found.get(_lock_key(key))
        entries[spec] = replace(entry, refreshing_since=lock["at"] if isinstance(lock, dict) else None)
    return entries


def _drop_other_pages(account: UpstreamAccount, specs: list[Spec]) -> None:
    """"Refresh" on a page of a catalog drops every other page of it (searches, page numbers); the page itself
    is kept, stale, so it is shown while its refresh runs."""
    if not specs:
        return
    before = _keys(specs, account)
    shown = cache.get_many(list(before.values()))
    for kind in {spec[1] for spec in specs}:
        drop_pages(account, kind)
    after = _keys(specs, account)
    for spec, key in before.items():
        if shown.get(key) is not None:
            cache.set(after[spec], replace(shown[key], fresh_until=None), _keep_seconds())


def _wants_refresh(entry: Cached, *, force: bool) -> bool:
    if entry.refreshing:
        return False
    if force:
        return True
    if entry.ready and not entry.stale:
        return False
    # A refresh that failed a moment ago is not asked again by every page (nor every poll).
    return not (entry.failed and entry.error_at > timezone.now() - timedelta(seconds=_retry_seconds()))


def ensure(account: UpstreamAccount, specs: list[Spec], *, force: bool = False) -> dict[Spec, Cached]:
    """Read the specs; ask the worker to refresh those missing or stale (all of them with ``force``: a refresh
    or retry button). Never calls the vendor. With django-q2 in sync mode (tests) the refresh has run when this
    returns, and the entries are read again."""
    if force:
        _drop_other_pages(account, [spec for spec in specs if spec[0] == "page" and len(spec) > 1])
    keys = _keys(specs, account)
    entries = _read(account, keys)
    now = timezone.now()
    asked = [
        spec
        for spec, entry in entries.items()
        if _wants_refresh(entry, force=force)
        and cache.add(_lock_key(keys[spec]), {"at": now}, timeout=_lock_seconds())
    ]
    if not asked:
        return entries
    try:
        label = hashlib.md5(repr(asked).encode()).hexdigest()[:8]
        async_task(REFRESH_JOB, account.pk, asked, task_name=f"catalog-refresh-{account.pk}-{label}")
    except Exception:  # the broker is down: say so beside the pickers rather than spin
        logger.exception("catalog: could not ask the worker to refresh %s", asked)
        for spec in asked:
            _store_error(spec, account, NOT_ASKED)
    return _read(account, keys)


# --- The refresh (runs in the worker) ------------------------------------------------------------------------


def _all_models(method) -> list[Model]:
    models: list[Model] = []
    for page in range(1, MAX_PAGES + 1):
        result = method(page=page, per_page=100)
        models.extend(result.models)
        if not result.has_next:
            break
    return models


def _fetch(client, spec: Spec):
    name, *params = spec
    if name in ("base", "lora", "private"):
        return _all_models(getattr(client, _PAGE_METHODS[name]))
    if name == "cn_artist":
        return client.cn_artist()
    if name == "cn_opensource":
        return client.cn_opensource()
    if name == "form":
        return client.get_generation_form()
    if name == "train_form":
        return client.get_train_form()
    if name == "page":
        kind, page, per_page, query = params
        return getattr(client, _PAGE_METHODS[kind])(page=page, per_page=per_page, query=query)
    raise ValueError(f"unknown catalog {spec!r}")


def _store_error(spec: Spec, account: UpstreamAccount, message: str) -> None:
    key = _key(spec, account)
    entry = cache.get(key) or Cached()
    cache.set(key, replace(entry, error=english(message), error_at=timezone.now()), _keep_seconds())
    cache.delete(_lock_key(key))


def _refresh_one(client, account: UpstreamAccount, spec: Spec) -> str:
    key = _key(spec, account)
    try:
        value = _fetch(client, spec)
    except UpstreamError as exc:
        logger.info("catalog: %s not refreshed: %s", spec, exc)
        _store_error(spec, account, exc.user_message)
        return "failed"
    except Exception:
        logger.exception("catalog: refreshing %s failed", spec)
        _store_error(spec, account, UNEXPECTED)
        return "failed"
    now = timezone.now()
    previous = cache.get(key) if spec[0] in _PAGE_METHODS else None
    cache.set(key, Cached(value, now, now + timedelta(seconds=fresh_seconds())), _keep_seconds())
    cache.delete(_lock_key(key))
    if previous is not None and previous.value is not None and previous.value != value:
        drop_pages(account, spec[0])  # the whole list changed: the Catalog's pages of it are fetched anew too
    return "refreshed"


def _in_thread(client, account, spec) -> str:
    try:
        return _refresh_one(client, account, spec)
    finally:
        connections.close_all()  # this thread's own connections (a re-login saves the new token)


def catalog_refresh(*, account_id: int, specs: list[Spec]) -> dict:
    """Fetch the given catalogs from Miaohua with the account's credentials (side by side), store each with its
    time, or its error; release each one's lock."""
    specs = [tuple(spec) for spec in specs]
    account = UpstreamAccount.objects.filter(pk=account_id).first()
    outcome = {"refreshed": 0, "failed": 0}
    if account is None:
        for spec in specs:
            cache.delete(_lock_key(_key(spec, account_id)))
        return outcome
    client = client_for_account(account)
    client.max_retries = 1  # a page is waiting: one retry at most, then the error is shown with a retry button
    try:
        if client.token is None and client.can_login:
            try:
                client.get_token()  # once, before the threads share the client
            except UpstreamError:
                pass  # each fetch reports it
        if len(specs) == 1:
            results = [_refresh_one(client, account, specs[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(len(specs), MAX_THREADS)) as pool:
                results = list(pool.map(lambda spec: _in_thread(client, account, spec), specs))
    finally:
        client.close()
    for result in results:
        outcome[result] += 1
    return outcome


def forget(account: UpstreamAccount, specs: list[Spec]) -> None:
    """Drop entries (and their locks): the next read asks for them again."""
    keys = [_key(spec, account) for spec in specs]
    cache.delete_many([*keys, *map(_lock_key, keys)])


def forget_private_models(account: UpstreamAccount) -> None:
    """A trained LoRA just appeared: the account's private catalog is dropped and fetched again at once, so the
    Generate form offers it (a LoRA picker waiting for it shows a placeholder, never the old list)."""
    forget(account, [("private",)])
    drop_pages(account, "private")  # and the Catalog's "My models", every search and page of it
    ensure(account, [("private",)])


# --- What pages read -----------------------------------------------------------------------------------------


@dataclass
class Picker:
    """How one picker of a page stands: ``ready``, ``loading`` (poll again), ``slow`` (waited too long) or
    ``error`` (the refresh failed); ``note`` is a remark on a ready picker (an optional list that failed)."""

    name: str
    state: str
    error: str = ""
    note: str = ""
    since: datetime | None = None
    url: str = ""  # where a placeholder polls (set by the view)
    keep: list = field(default_factory=list)  # (name, value) pairs a placeholder carries for the form

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def waiting(self) -> bool:
        return self.state == "loading"

    @property
    def label(self) -> str:
        return PICKER_LABELS.get(self.name, _("the list"))

    @property
    def retry_url(self) -> str:
        return self.url + ("&" if "?" in self.url else "?") + "retry=1"


def picker_state(name: str, entries: list[Cached], optional: list[Cached] = ()) -> Picker:
    """Ready when every required list is there; an optional one only delays it while it loads."""
    for entry in entries:
        if not entry.ready and entry.failed:
            return Picker(name, "error", error=entry.error)
    waiting = [e for e in [*entries, *optional] if not e.ready and not e.failed]
    if waiting:
        since = min((e.refreshing_since for e in waiting if e.refreshing_since), default=None)
        if since is not None and since < timezone.now() - timedelta(seconds=wait_seconds()):
            return Picker(name, "slow", since=since)
        return Picker(name, "loading", since=since)
    note = next((e.error for e in optional if not e.ready and e.failed), "")
    return Picker(name, "ready", note=note)


# The Generate form's pickers and the catalogs each needs (required, optional).
GENERATE_PICKERS = {
    "models": ([("base",)], []),
    "loras": ([("lora",)], [("private",)]),
    "sizes": ([("form",)], []),
    "controlnets": ([("base",), ("cn_artist",), ("cn_opensource",)], []),
}
GENERATE_SPECS = [("base",), ("lora",), ("private",), ("form",), ("cn_artist",), ("cn_opensource",)]


@dataclass
class GenerateCatalogs:
    """What the Generate form's pickers have to offer now (empty lists for catalogs still loading)."""

    entries: dict[Spec, Cached]

    def _value(self, name: str, default):
        entry = self.entries.get((name,))
        return entry.value if entry is not None and entry.ready else default

    @property
    def base_models(self) -> list[Model]:
        return self._value("base", [])

    @property
    def loras(self) -> list[Model]:
        return self._value("lora", [])

    @property
    def private_models(self) -> list[Model]:
        return self._value("private", [])

    @property
    def generation_form(self) -> GenerationForm | None:
        return self._value("form", None)

    @property
    def resolutions(self) -> dict:
        form = self.generation_form
        return form.resolutions if form is not None else {}

    @property
    def cn_artist(self) -> list[ControlNet]:
        return self._value("cn_artist", [])

    @property
    def cn_opensource(self) -> list[ControlNet]:
        return self._value("cn_opensource", [])

    def controlnets_for(self, model: Model | None) -> list[ControlNet]:
        """cn/opensource for open-source base models, cn/artist otherwise (digest: ControlNet unit)."""
        return self.cn_opensource if model is not None and model.is_opensource else self.cn_artist

    @property
    def fetched_at(self) -> datetime | None:
        return min((e.fetched_at for e in self.entries.values() if e.fetched_at), default=None)

    @property
    def refreshing(self) -> bool:
        """A list the page shows (stale, or asked with "refresh") is being fetched again; lists still on their
        way for the first time are the placeholders' business."""
        return any(e.refreshing and e.ready for e in self.entries.values())

    @property
    def last_error(self) -> str:
        """The newest failed refresh of a list that is still shown (stale), if any."""
        failed = [e for e in self.entries.values() if e.ready and e.failed]
        return max(failed, key=lambda e: e.error_at).error if failed else ""

    def picker(self, name: str) -> Picker:
        required, optional = GENERATE_PICKERS[name]
        empty = Cached()
        return picker_state(
            name,
            [self.entries.get(spec, empty) for spec in required],
            [self.entries.get(spec, empty) for spec in optional],
        )

    @property
    def pickers(self) -> dict[str, Picker]:
        return {name: self.picker(name) for name in GENERATE_PICKERS}

    @property
    def loading(self) -> set[str]:
        """The pickers that cannot offer their choices yet."""
        return {name for name, picker in self.pickers.items() if not picker.ready}

    def form_kwargs(self) -> dict:
        return {
            "base_models": self.base_models,
            "loras": self.loras,
            "private_models": self.private_models,
            "resolutions": self.resolutions,
            "loading": self.loading,
        }


def generate_catalogs(account: UpstreamAccount, *, only: list[str] | None = None, force: bool = False):
    """The Generate form's catalogs, from the cache; missing or stale ones are asked of the worker. ``only``
    limits the reading (and asking) to some pickers' catalogs, e.g. the one picker that polls."""
    specs = GENERATE_SPECS
    if only is not None:
        wanted = {spec for name in only for spec in [*GENERATE_PICKERS[name][0], *GENERATE_PICKERS[name][1]]}
        specs = [spec for spec in GENERATE_SPECS if spec in wanted]
    return GenerateCatalogs(ensure(account, specs, force=force))


def catalog_page(account: UpstreamAccount, kind: str, *, page: int, per_page: int, query: str, force=False):
    """One page of a catalog as the Catalog page browses it at the vendor (search and paging), from the cache."""
    spec = ("page", kind, page, per_page, query.strip().lower())
    return ensure(account, [spec], force=force)[spec]


def controlnets(account: UpstreamAccount, *, opensource: bool, force: bool = False) -> Cached:
    spec = ("cn_opensource",) if opensource else ("cn_artist",)
    return ensure(account, [spec], force=force)[spec]


def private_models(account: UpstreamAccount, *, force: bool = False) -> Cached:
    return ensure(account, [("private",)], force=force)[("private",)]


def train_form(account: UpstreamAccount, *, force: bool = False) -> Cached:
    return ensure(account, [("train_form",)], force=force)[("train_form",)]


__all__ = [
    "Cached",
    "GenerateCatalogs",
    "Picker",
    "catalog_page",
    "catalog_refresh",
    "controlnets",
    "drop_pages",
    "ensure",
    "forget",
    "forget_private_models",
    "generate_catalogs",
    "picker_state",
    "private_models",
    "read",
    "train_form",
]
