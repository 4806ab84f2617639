"""Mounted at `simulator/` when settings.MIAOHUA_SIMULATOR: the API at simulator/api/v1b/<endpoint>
(a trailing slash is tolerated) and the signed file links at simulator/files/."""

from django.urls import path, re_path

from miaohua_site.simulator import views

app_name = "simulator"

ENDPOINTS = {
    "get_token": views.get_token,
    "task_submit": views.task_submit,
    "task_result": views.task_result,
    "task_results": views.task_results,
    "img2txt": views.img2txt,
    "get_generation_form": views.get_generation_form,
    "models/base": views.models_base,
    "models/lora": views.models_lora,
    "models/private": views.models_private,
    "cn/artist": views.cn_artist,
    "cn/opensource": views.cn_opensource,
    "upload_img": views.upload_img,
    "upload_imgs": views.upload_imgs,
    "dataset": views.dataset,
    "dataset_all": views.dataset_all,
    "dataset/add_images": views.dataset_add_images,
    "dataset/delete_images": views.dataset_delete_images,
    "train_submit": views.train_submit,
    "train_progress": views.train_progress,
    "get_train_form": views.get_train_form,
}

urlpatterns = [
    *(re_path(rf"^api/v1b/{name}/?$", view, name=name.replace("/", "_")) for name, view in ENDPOINTS.items()),
    re_path(r"^api/v1b/(?P<name>.*)$", views.unknown_endpoint, name="unknown_endpoint"),
    path("files/upload/<uuid:upload_id>.<slug:ext>", views.upload_file, name="upload_file"),
    path("files/task/<uuid:task_id>/<int:index>-<str:variant>.jpg", views.task_file, name="task_file"),
    path("files/demo/<str:slug>.jpg", views.demo_file, name="demo_file"),
]
