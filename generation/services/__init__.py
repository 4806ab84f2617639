"""Writes of the generation app, by sub-domain (docs/ARCHITECTURE.md, "Life of a generation task"):

- ``submit``    storing tasks (web requests) and sending them to Miaohua (the engine's submit lane)
- ``poller``    sweeps of each account's pending tasks (the engine's poll lane)
- ``mirror``    bringing images home (the engine's download lane)
- ``recovery``  timeouts, disconnected accounts, and what a previous engine left half done

Web requests call ``generation_submit`` / ``generation_retry`` / ``input_image_*``; the engine
(miaohua_site/workers/engine.py) runs the sources each module registers."""

from generation.services.mirror import MirrorSource, image_mirror, images_mirror
from generation.services.poller import PollSource, record_results
from generation.services.recovery import RecoverySource, generation_recover
from generation.services.submit import (
    SubmitSource,
    generation_retry,
    generation_send,
    generation_submit,
    generation_submit_group,
    input_image_create,
    input_image_from_history,
    task_columns,
    task_fail,
)

__all__ = [
    "MirrorSource",
    "PollSource",
    "RecoverySource",
    "SubmitSource",
    "generation_recover",
    "generation_retry",
    "generation_send",
    "generation_submit",
    "generation_submit_group",
    "image_mirror",
    "images_mirror",
    "input_image_create",
    "input_image_from_history",
    "record_results",
    "task_columns",
    "task_fail",
]
