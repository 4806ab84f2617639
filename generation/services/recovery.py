"""What the engine tidies every few seconds: pending tasks past the timeout or whose account was disconnected,
and what an engine that is gone left half done: tasks caught while being sent (claimed before the active
engine took over: ``since``), and downloads under way (claimed by an engine none of whose leases is alive)."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_noop

from generation.models import GeneratedImage, GenerationTask
from generation.services.poller import TIMED_OUT, timeout_seconds
from miaohua_site.i18n import english
from miaohua_site.workers import engine
from miaohua_site.workers.jobs import NO_ANSWER, answer_grace
from miaohua_site.workers.leases import holder_is_alive

State = GenerationTask.State
MirrorState = GeneratedImage.MirrorState

DISCONNECTED = gettext_noop("The Miaohua account was disconnected before the task finished.")  # stored in English


def _fail(tasks, message: str) -> int:
    if not tasks.exists():  # a read first: no write (nor SQLite's write lock) while there is nothing to do
        return 0
    return tasks.update(state=State.FAILED, error_message=message, finished_at=timezone.now())


def generation_recover(*, since=None) -> dict:
    """- pending tasks past GENERATION_TIMEOUT_SECONDS, or whose account was disconnected → failed;
    - tasks a previous engine was sending (claimed before ``since``): queued again when task_submit was not
      attempted (sending it is its first send), failed with "may or may not have started" when it was and its
      answer can no longer come (never resent);
    - downloads whose engine's process is gone → waiting again (the download lane takes them at once)."""
    now = timezone.now()
    since = since or now
    seconds = timeout_seconds()
    counts = {
        "timed_out": _fail(
            GenerationTask.objects.filter(state=State.PENDING, submitted_at__lt=now - timedelta(seconds=seconds)),
            english(TIMED_OUT, minutes=f"{seconds / 60:g}"),
        ),
        "disconnected": _fail(
            GenerationTask.objects.filter(state=State.PENDING, upstream_account__isnull=True), english(DISCONNECTED)
        ),
    }
    left = GenerationTask.objects.filter(state=State.SUBMITTING, claimed_at__lt=since)
    counts["gave_up"] = _fail(left.filter(submit_attempted_at__lt=now - answer_grace()), NO_ANSWER)
    counts["requeued"] = 0
    if left.filter(submit_attempted_at__isnull=True).exists():
        counts["requeued"] = left.filter(submit_attempted_at__isnull=True).update(state=State.QUEUED, claimed_at=None)
    counts["downloads"] = downloads_recover()
    return counts


def downloads_recover() -> int:
    """Downloads claimed by an engine whose process is gone (none of its leases is alive) wait again."""
    under_way = GeneratedImage.objects.filter(mirror_state=MirrorState.WAITING, mirror_attempted_at__isnull=False)
    gone = [
        token
        for token in under_way.values_list("mirror_claim", flat=True).distinct().order_by()
        if not holder_is_alive(token)
    ]
    if not gone:
        return 0
    return under_way.filter(mirror_claim__in=gone).update(mirror_attempted_at=None, mirror_claim="")


@engine.register
class RecoverySource(engine.Chores):
    name = "generation-recovery"
    tidy = staticmethod(generation_recover)
