"""Reads of the generation app. Every object a request touches is fetched starting from the user, so another
user's object is a 404 by construction (docs/ARCHITECTURE.md, "Who may call whom")."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from generation.models import GeneratedImage, GenerationTask, InputImage


def tasks_visible_to(user) -> QuerySet[GenerationTask]:
    """The tasks ``user`` may see: their own, not deleted (team sharing comes later), newest first."""
    if not user.is_authenticated:
        return GenerationTask.objects.none()
    return GenerationTask.objects.filter(owner=user, deleted_at__isnull=True).order_by("-created_at", "-id")


def task_for_user(user, pk) -> GenerationTask:
    """One visible task, or Http404."""
    return get_object_or_404(tasks_visible_to(user).select_related("upstream_account"), pk=pk)


def queue_count(user) -> int:
    """How many of the user's tasks are still on their way (queued, submitting or pending): the nav badge."""
    return tasks_visible_to(user).filter(state__in=GenerationTask.IN_FLIGHT).count()


def images_visible_to(user) -> QuerySet[GeneratedImage]:
    """Images of the visible tasks, newest task first."""
    if not user.is_authenticated:
        return GeneratedImage.objects.none()
    return GeneratedImage.objects.filter(task__owner=user, task__deleted_at__isnull=True).order_by(
        "-task__created_at", "-task_id", "save_index"
    )


def image_for_user(user, pk) -> GeneratedImage:
    """One visible image, or Http404."""
    return get_object_or_404(images_visible_to(user).select_related("task"), pk=pk)


def input_images_of(user) -> QuerySet[InputImage]:
    if not user.is_authenticated:
        return InputImage.objects.none()
    return InputImage.objects.filter(owner=user).select_related("source_image")


def input_image_for_user(user, pk) -> InputImage:
    """One of the user's input images, or Http404."""
    return get_object_or_404(input_images_of(user), pk=pk)
