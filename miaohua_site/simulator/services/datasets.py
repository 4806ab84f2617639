"""Datasets for training: dataset, dataset_all, dataset/add_images, dataset/delete_images.

Required as the document marks them: `name` and `images` (dataset), `dataset` and `images` (the edits);
missing is refused (403), an empty string is a value. Images are links upload_img(s) issued to the same
account; any other link is the document's failure, word for word: `code 400, msg "invalid image"`.
A dataset of another account is as unknown as a made-up id (403)."""

import math

from django.utils import timezone

from miaohua_site.simulator import clock
from miaohua_site.simulator.errors import INVALID_IMAGE, PARAMETER_ERROR, ApiError, parameter_error, require
from miaohua_site.simulator.models import SimAccount, SimDataset, SimUpload
from miaohua_site.simulator.services import uploads

PER_PAGE = 20


INVALID_IMAGE_MSG = "invalid image"  # the document's own wording


def _images(account: SimAccount, body: dict, *, field: str = "images") -> list[SimUpload]:
    images = require(body, field, code=PARAMETER_ERROR, hint="a list of image URLs from upload_img(s)")
    if not isinstance(images, list):
        raise parameter_error(f"{field} must be a list of image URLs from upload_img(s)")
    found = []
    for url in images:
        upload = uploads.upload_from_url(account, url)
        if upload is None:
            raise ApiError(INVALID_IMAGE, INVALID_IMAGE_MSG)
        found.append(upload)
    return found


def dataset_create(*, account: SimAccount, body: dict) -> SimDataset:
    name = require(body, "name", code=PARAMETER_ERROR)
    if not isinstance(name, str):
        raise parameter_error(f"name must be a string, got {name!r}")
    description = body.get("description") or ""
    if not isinstance(description, str):
        raise parameter_error("description must be a string")
    found = _images(account, body)
    now = clock.now()
    return SimDataset.objects.create(
        owner=account,
        name=name.strip(),
        description=description,
        image_ids=list(dict.fromkeys(str(u.id) for u in found)),
        created_at=now,
        updated_at=now,
    )


def dataset_get(*, account: SimAccount, dataset_id) -> SimDataset:
    if isinstance(dataset_id, str) and dataset_id.isdigit():
        dataset_id = int(dataset_id)
    if not isinstance(dataset_id, int) or isinstance(dataset_id, bool):
        raise parameter_error(f"dataset must be a dataset id (from dataset_all), got {dataset_id!r}")
    dataset = SimDataset.objects.filter(id=dataset_id, owner=account).first()
    if dataset is None:
        raise parameter_error(f"dataset: there is no dataset {dataset_id} in this account")
    return dataset


def dataset_add_images(*, account: SimAccount, body: dict) -> SimDataset:
    dataset = dataset_get(account=account, dataset_id=require(body, "dataset", code=PARAMETER_ERROR))
    found = _images(account, body)
    dataset.image_ids = list(dict.fromkeys([*dataset.image_ids, *(str(u.id) for u in found)]))
    dataset.updated_at = clock.now()
    dataset.save(update_fields=["image_ids", "updated_at"])
    return dataset


def dataset_delete_images(*, account: SimAccount, body: dict) -> SimDataset:
    dataset = dataset_get(account=account, dataset_id=require(body, "dataset", code=PARAMETER_ERROR))
    found = _images(account, body)
    for upload in found:
        if str(upload.id) not in dataset.image_ids:
            raise ApiError(INVALID_IMAGE, INVALID_IMAGE_MSG)
    gone = {str(u.id) for u in found}
    dataset.image_ids = [i for i in dataset.image_ids if i not in gone]
    dataset.updated_at = clock.now()
    dataset.save(update_fields=["image_ids", "updated_at"])
    return dataset


def format_time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def datasets_page(request, *, account: SimAccount, page) -> dict:
    """dataset_all's page `page` (20 a page, oldest first), images as fresh links."""
    if page in (None, ""):
        page = 1
    try:
        page = int(page)
    except (TypeError, ValueError):
        raise parameter_error(f"page must be a positive integer, got {page!r}") from None
    if page < 1:
        raise parameter_error(f"page must be a positive integer, got {page}")
    datasets = SimDataset.objects.filter(owner=account).order_by("id")
    total = datasets.count()
    chosen = list(datasets[(page - 1) * PER_PAGE : page * PER_PAGE])
    upload_ids = {i for d in chosen for i in d.image_ids}
    by_id = {str(u.id): u for u in SimUpload.objects.filter(id__in=upload_ids).defer("data")}
    items = []
    for dataset in chosen:
        images = [uploads.upload_url(request, by_id[i]) for i in dataset.image_ids if i in by_id]
        items.append(
            {
                "id": dataset.id,
                "name": dataset.name,
                "description": dataset.description,
                "demo_picture": images[0] if images else "",
                "create_time": format_time(dataset.created_at),
                "update_time": format_time(dataset.updated_at),
                "images": images,
                "images_num": len(images),
            }
        )
    pages = math.ceil(total / PER_PAGE)
    return {
        "items": items,
        "page": page,
        "per_page": PER_PAGE,
        "has_next": page < pages,
        "has_prev": page > 1,
        "totalPages": pages,
    }
