"""The engine: one dispatcher for the whole installation that feeds upstream work to small thread pools.

Every ``qcluster`` worker process starts an engine thread (django-q2's ``post_spawn`` signal). One of them holds
the engine lease and is *active*; the others stand by and take over when the lease lapses (a killed worker)
or is released (a stopped one). So the vendor work never occupies django-q2's workers, and any number of
accounts is served by the default pool.

The active engine asks each registered ``Source``, every ``every`` seconds, for the work that is due (sources
read the database and keep what they plan in memory), and runs each ``Work`` in the source's *lane*: a thread
pool of a few threads (``WORKERS_<LANE>_THREADS``). Lanes are separate, so submissions and downloads never
queue behind polling. A work item that needs a slot of a rate window (``limiter``) waits in the dispatcher's
heap until the window frees, never in a thread; items with the same ``serial`` key (one upstream account's
calls) run one at a time. Completions come back to the dispatcher thread, which is the only one that changes
the sources' plans (``Work.done``), so sources need no locks.

In django-q2's sync mode (the test suite) there are no worker processes: ``wake()`` runs an engine inline, on
the calling thread, until nothing is left to do (``run_until_idle``)."""

from __future__ import annotations

import heapq
import itertools
import logging
import multiprocessing
import queue
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.utils import timezone
from django_q.conf import Conf

from miaohua_site.workers.leases import Lease, lease_is_free
from miaohua_site.workers.ratelimit import RateLimiter, Slot

logger = logging.getLogger(__name__)

ENGINE_LEASE = "workers-engine"
LANES = ("submit", "poll", "download")
DEFAULT_THREADS = {"submit": 4, "poll": 8, "download": 8}
TICK_SECONDS = 0.5  # the longest the dispatcher sleeps without looking at its sources


@dataclass(eq=False)
class Work:
    """One piece of upstream work. ``run()`` — or ``run(slot)`` when it needs a ``limiter`` slot — runs in a
    lane thread; ``done(result)`` runs afterwards in the dispatcher thread (``result`` is what ``run``
    returned, or the exception it raised). ``key`` identifies it: an item whose key is already planned or
    running is not added again."""

    key: Hashable
    run: Callable[..., object]
    lane: str = ""
    limiter: RateLimiter | None = None
    serial: Hashable | None = None
    not_before: float = 0.0
    done: Callable[[object], None] | None = None
    source: Source | None = None  # set by the engine


class Source:
    """A kind of work the engine asks for. A subclass names itself and its lane, and implements ``collect``.

    ``collect(now)`` returns the work due now (it may plan ahead and keep state); ``busy`` says whether more
    will come without anything new being stored (e.g. tasks still running at the vendor), which is how an
    inline engine knows it is finished. ``since`` is when this engine became active: anything the active
    engine claimed before it belongs to one that is gone. ``token`` names this engine in the claims it writes
    (``holder_is_alive(token)`` while its process lives); ``room`` is how many more items its lane can start.
    A source that is ``everywhere`` runs in the standing-by processes too (its claims keep it to one taker)."""

    name = "source"
    lane = "submit"
    every = 0.25  # seconds between collects while there is work …
    idle_every = 1.0  # … and while there was none
    chores = False  # tidying up on a timer: its work counts as progress only when it changed something
    everywhere = False
    headroom = 0  # items it may plan beyond its lane's free threads (claimed ahead, so no thread waits for a look)

    def __init__(self) -> None:
        self.busy = False
        self.since: datetime = timezone.now()
        self.token = ""
        self.room = 1

    def collect(self, now: float) -> Iterable[Work]:
        return ()

    def close(self) -> None:
        """The engine stops: let go of clients and sessions."""


class Chores(Source):
    """Tidying up on a timer, in the submit lane: ``tidy(since=...)`` returns what it changed, by kind."""

    lane = "submit"
    every = idle_every = 5.0
    chores = True
    tidy: Callable[..., dict]

    def collect(self, now: float) -> Iterable[Work]:
        return [Work(key=(self.name,), run=partial(type(self).tidy, since=self.since))]


_registry: list[type[Source]] = []


def register(source: type[Source]) -> type[Source]:
    """Add a kind of work (a class decorator; apps register their sources when they are ready)."""
    if source not in _registry:
        _registry.append(source)
    return source


def registered() -> list[type[Source]]:
    return list(_registry)


@dataclass
class _Later:
    """A work item's rate window was full: it may start at ``at``."""

    at: float


@dataclass
class Report:
    """What an engine run did: work items run per source, and the exceptions they raised."""

    runs: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stopped: str = ""
    sources: dict[str, Source] = field(default_factory=dict)  # by name, as they were when it stopped


class Engine:
    """One engine run over ``sources`` (instances). ``inline`` runs every item on the calling thread."""

    def __init__(
        self,
        sources: list[Source],
        *,
        inline: bool = False,
        threads: dict[str, int] | None = None,
        token: str = "",
    ):
        self.sources = sources
        self.inline = inline
        self.token = token or uuid.uuid4().hex
        for source in sources:
            source.token = self.token
        self.threads = {**DEFAULT_THREADS, **(threads or {})}
        self.report = Report(sources={source.name: source for source in sources})
        self._seq = itertools.count()
        self._waiting: list[tuple[float, int, Work]] = []  # heap by not_before
        self._ready: list[Work] = []
        self._keys: set[Hashable] = set()
        self._serials: set[Hashable] = set()
        self._busy_lanes: dict[str, int] = dict.fromkeys(self.threads, 0)
        self._completed: queue.SimpleQueue[tuple[Work, Source, object]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._next_collect = {id(source): 0.0 for source in sources}
        self._progress = False  # something finished since the idle check last looked

    # --- the loop ------------------------------------------------------------------------------------------

    def run(self, *, stop: threading.Event, lease: Lease | None = None, budget: float | None = None) -> Report:
        """Dispatch until ``stop`` is set, the lease is lost, or the budget (inline: until idle) is spent."""
        deadline = time.monotonic() + budget if budget is not None else None
        if lease is not None and lease.acquired_at is not None:
            for source in self.sources:
                source.since = lease.acquired_at
        try:
            while not stop.is_set():
                if lease is not None and not self._keep(lease):
                    self.report.stopped = "lease lost"
                    break
                if deadline is not None and time.monotonic() > deadline:
                    self.report.stopped = "time budget spent"
                    break
                self._finish_completed()
                self._collect()
                self._dispatch()
                if self.inline and self._idle():
                    self.report.stopped = "idle"
                    break
                self._sleep()
        finally:
            self._shutdown()
        return self.report

    def wake(self) -> None:
        self._wake.set()

    def _keep(self, lease: Lease) -> bool:
        try:
            return lease.renew_if_due()
        except DatabaseError:
            logger.warning("engine: could not renew its lease; trying again", exc_info=True)
            return True  # not lost yet: it lapses only after its full length

    def _collect(self) -> None:
        now = time.time()
        for source in self.sources:
            if now < self._next_collect[id(source)]:
                continue
            lane = source.lane
            planned = sum(1 for work in self._ready if work.lane == lane)
            free = self.threads.get(lane, 1) + source.headroom - self._busy_lanes.get(lane, 0) - planned
            source.room = max(0, free)
            if self.inline:
                source.room = max(source.room, 1)
            try:
                items = list(source.collect(now))
            except DatabaseError:
                logger.warning("engine: %s could not read its work; trying again", source.name, exc_info=True)
                connections.close_all()  # this thread's: the next look starts with a fresh connection
                items = []
            except Exception:
                logger.exception("engine: %s failed to collect its work", source.name)
                items = []
            wait = source.every if items or source.busy else source.idle_every
            self._next_collect[id(source)] = now + wait
            for work in items:
                if work.key in self._keys:
                    continue
                work.lane = work.lane or source.lane
                work.source = source
                self._keys.add(work.key)
                if work.not_before > now:
                    heapq.heappush(self._waiting, (work.not_before, next(self._seq), work))
                else:
                    self._ready.append(work)

    def _dispatch(self) -> None:
        now = time.time()
        while self._waiting and self._waiting[0][0] <= now:
            self._ready.append(heapq.heappop(self._waiting)[2])
        still: list[Work] = []
        for work in self._ready:
            if self._busy_lanes.get(work.lane, 0) >= self.threads.get(work.lane, 1) and not self.inline:
                still.append(work)
                continue
            if work.serial is not None and work.serial in self._serials:
                still.append(work)
                continue
            self._start(work)
        self._ready = still

    def _start(self, work: Work) -> None:
        if work.serial is not None:
            self._serials.add(work.serial)
        self._busy_lanes[work.lane] = self._busy_lanes.get(work.lane, 0) + 1
        if self.inline:
            self._execute(work)
            self._finish_completed()
            return
        pool = self._pools.get(work.lane)
        if pool is None:
            pool = self._pools[work.lane] = ThreadPoolExecutor(
                max_workers=self.threads.get(work.lane, 1), thread_name_prefix=f"engine-{work.lane}"
            )
        pool.submit(self._execute, work)

    def _execute(self, work: Work) -> None:
        """In a lane thread (or inline): take the item's slot of its rate window — or, when the window is full,
        give the item back to the dispatcher with the time it frees (a thread never waits for a window) — run it,
        hand the slot back, report to the dispatcher. A lane thread keeps its database connection from one item
        to the next (opening one per item cost more than most items); a database error closes it, so the next
        item starts with a fresh one. The window's reads and writes happen here, not in the dispatcher's one
        thread, which only plans."""
        slot = None
        if work.limiter is not None:
            try:
                got = work.limiter.try_acquire()
            except DatabaseError:
                logger.warning("engine: rate window of %s unreadable; trying again", work.limiter.name)
                got = 0.2
            if not isinstance(got, Slot):
                self._completed.put((work, work.source, _Later(time.time() + got)))
                self._wake.set()
                return
            slot = got
        try:
            result = work.run(slot) if work.limiter is not None else work.run()
        except Exception as exc:  # one item's failure never stops the engine
            logger.exception("engine: %r failed", work.key)
            result = exc
            if isinstance(exc, DatabaseError) and not self.inline:
                connections.close_all()
        if slot is not None:
            try:
                work.limiter.finished(slot)
            except DatabaseError:
                logger.warning("engine: could not record the end of a call in %s", work.limiter.name)
        self._completed.put((work, work.source, result))
        self._wake.set()

    def _finish_completed(self) -> None:
        while True:
            try:
                work, source, result = self._completed.get_nowait()
            except queue.Empty:
                return
            if work.serial is not None:
                self._serials.discard(work.serial)
            self._busy_lanes[work.lane] -= 1
            if isinstance(result, _Later):  # its window was full: back to the heap until it frees
                work.not_before = result.at
                heapq.heappush(self._waiting, (work.not_before, next(self._seq), work))
                continue
            if not source.chores or (isinstance(result, dict) and any(result.values())):
                self._progress = True
                if self.inline:  # what it did may be new work for any source: ask them all again
                    self._next_collect.update({id(s): 0.0 for s in self.sources if not s.chores})
            self._keys.discard(work.key)
            self.report.runs[source.name] = self.report.runs.get(source.name, 0) + 1
            if isinstance(result, Exception):
                self.report.errors.append(f"{work.key!r}: {type(result).__name__}: {result}")
            if work.done is not None:
                try:
                    work.done(result)
                except Exception:
                    logger.exception("engine: %s could not take the result of %r", source.name, work.key)

    def _idle(self) -> bool:
        if self._progress:
            self._progress = False
            return False
        return not (self._ready or self._waiting or any(self._busy_lanes.values())) and not any(
            source.busy for source in self.sources
        )

    def _sleep(self) -> None:
        now = time.time()
        until = min([*self._next_collect.values(), now + TICK_SECONDS])
        if self._waiting:
            until = min(until, self._waiting[0][0])
        if self._ready and not self.inline:
            until = now + TICK_SECONDS  # only a free thread or serial key can move them: a completion wakes us
        pause = until - now
        if pause <= 0:
            return
        if self.inline:
            time.sleep(min(pause, 0.05) if self._ready else pause)
        else:
            self._wake.wait(pause)
            self._wake.clear()

    def _shutdown(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=True)
        self._finish_completed()
        for source in self.sources:
            try:
                source.close()
            except Exception:
                logger.exception("engine: %s did not close cleanly", source.name)


def _threads() -> dict[str, int]:
    return {lane: int(getattr(settings, f"WORKERS_{lane.upper()}_THREADS")) for lane in DEFAULT_THREADS}


def new_engine(*, inline: bool = False, token: str = "", everywhere_only: bool = False) -> Engine:
    """An engine over every registered source (``everywhere_only``: the ones that also run on standby)."""
    sources = [source() for source in _registry if source.everywhere or not everywhere_only]
    return Engine(sources, inline=inline, threads=_threads(), token=token)


# --- Inline (django-q2's sync mode) --------------------------------------------------------------------------

_inline = threading.local()


def run_until_idle(*, budget: float | None = None) -> Report:
    """Run an engine on this thread until nothing is left to do (or the budget is spent). Used by ``wake`` in
    sync mode and by tests that want the workers' effect at once."""
    if getattr(_inline, "running", False):
        return Report(stopped="already running")
    _inline.running = True
    try:
        if budget is None:
            budget = float(settings.WORKERS_INLINE_BUDGET_SECONDS)
        return new_engine(inline=True).run(stop=threading.Event(), budget=budget)
    finally:
        _inline.running = False


def wake() -> None:
    """New work was stored. In sync mode, do it now (inline); in a process whose engine is active, look at once;
    elsewhere (a web process) nothing is needed: the active engine looks at its sources several times a
    second."""
    if Conf.SYNC:
        run_until_idle()
    elif _service is not None and _service.engine is not None:
        _service.engine.wake()


def wake_on_commit() -> None:
    """``wake`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(wake, robust=not Conf.SYNC)


# --- In every qcluster worker process: active or standing by -------------------------------------------------


class Service:
    """The engine thread of one worker process. It stands by until it holds the engine lease, then runs the
    engine until the lease is lost or the process stops (a threading atexit hook lets running calls finish).
    While standing by it runs the sources that may run everywhere (image downloads) in a helper engine, so
    every worker process's core takes part in that work; its heartbeat lease keeps its claims good."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.engine: Engine | None = None
        self.token = uuid.uuid4().hex
        self.thread = threading.Thread(target=self._serve, name="miaohua-engine", daemon=True)
        self._helper: tuple[threading.Thread, threading.Event] | None = None

    def start(self) -> None:
        self.thread.start()
        threading._register_atexit(self.shutdown)  # runs before the interpreter joins threads and exits

    def shutdown(self) -> None:
        self.stop.set()
        if self.engine is not None:
            self.engine.wake()
        self.thread.join(timeout=float(settings.WORKERS_STOP_SECONDS))

    def _serve(self) -> None:
        seconds = float(settings.WORKERS_ENGINE_LEASE_SECONDS)
        standby = min(1.0, seconds / 4)
        lease = Lease(ENGINE_LEASE, seconds=seconds, holder=self.token)
        heartbeat = Lease(f"workers-process:{self.token}", seconds=seconds, holder=self.token)
        while not self.stop.is_set():
            try:
                if lease_is_free(ENGINE_LEASE) and lease.acquire():
                    self._stop_helper()
                    logger.info("engine: active in %s", multiprocessing.current_process().name)
                    self.engine = new_engine(token=self.token)
                    report = self.engine.run(stop=self.stop, lease=lease)
                    logger.info("engine: stopped (%s)", report.stopped or "asked to")
                elif heartbeat.renew_if_due() or heartbeat.acquire():
                    self._start_helper()
            except Exception:
                logger.exception("engine: stopped by an error; standing by")
            finally:
                self.engine = None
                if lease.held:
                    try:
                        lease.release()
                    except DatabaseError:
                        logger.warning("engine: could not release its lease; it lapses by itself")
            self.stop.wait(standby)
        self._stop_helper()
        connections.close_all()

    def _start_helper(self) -> None:
        if self._helper is not None and self._helper[0].is_alive():
            return
        stop = threading.Event()
        helper = new_engine(token=self.token, everywhere_only=True)
        thread = threading.Thread(target=self._help, args=(helper, stop), name="miaohua-engine-helper", daemon=True)
        self._helper = (thread, stop)
        thread.start()

    def _help(self, helper: Engine, stop: threading.Event) -> None:
        try:
            helper.run(stop=stop)
        except Exception:
            logger.exception("engine: the standby's helper stopped by an error")
        finally:
            connections.close_all()

    def _stop_helper(self) -> None:
        if self._helper is None:
            return
        thread, stop = self._helper
        stop.set()
        thread.join(timeout=float(settings.WORKERS_STOP_SECONDS))
        self._helper = None


_service: Service | None = None


def _on_worker_spawned(sender, proc_name=None, **kwargs) -> None:
    """django-q2 spawned a worker process: start this process's engine thread (not in sync mode, where django-q2
    runs its worker function in the caller's own process)."""
    global _service
    if Conf.SYNC or not settings.WORKERS_ENGINE or _service is not None:
        return
    if multiprocessing.current_process().name == "MainProcess":
        return
    # A worker process keeps no query log, even on a development machine: with DEBUG on, Django records every
    # query (on SQLite it runs an extra one to quote each query's parameters), a fifth of the engine's time.
    settings.DEBUG = False
    _service = Service()
    _service.start()


def connect_to_worker_processes() -> None:
    from django_q.signals import post_spawn

    post_spawn.connect(_on_worker_spawned, dispatch_uid="miaohua_site.workers.engine")
