from django.urls import path

from generation import views, views_catalog, views_sweeps

urlpatterns = [
    path("", views.home, name="home"),
    path("generate/", views.generate, name="generate"),
    path("generate/read-parameters/", views.generate_read_parameters, name="generate_read_parameters"),
    path("generate/controlnet-unit/", views.controlnet_unit, name="controlnet_unit"),
    path("generate/pickers/<slug:name>/", views.generate_picker, name="generate_picker"),
    path("generate/pick-image/", views.image_picker, name="image_picker"),
    path("tasks/<id:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<id:pk>/card/", views.task_card, name="task_card"),
    path("tasks/<id:pk>/retry/", views.task_retry, name="task_retry"),
    path("images/<id:pk>/download/", views.image_download, name="image_download"),
    path("images/<id:pk>/<str:variant>/", views.image_file, name="image_file"),
    path("inputs/<id:pk>/", views.input_file, name="input_file"),
    path("inputs/<id:pk>/thumb/", views.input_thumb, name="input_thumb"),
    path("queue/", views.queue_badge, name="queue_badge"),
    path("describe/", views.describe, name="describe"),
    path("catalog/", views_catalog.catalog, name="catalog"),
    path("generate/sweep-estimate/", views_sweeps.sweep_estimate, name="sweep_estimate"),
    path("sweeps/<id:pk>/", views_sweeps.sweep_detail, name="sweep_detail"),
    path("sweeps/<id:pk>/grid/", views_sweeps.sweep_grid, name="sweep_grid"),
    path("sweeps/<id:pk>/cancel/", views_sweeps.sweep_cancel, name="sweep_cancel"),
    path("sweeps/<id:pk>/grid.png", views_sweeps.sweep_png, name="sweep_png"),
    path("sweeps/<id:pk>/zip/", views_sweeps.sweep_zip, name="sweep_zip"),
]

# Issue #13: batches, dynamic prompts, word lists and the groups' notices (branch batches).
from generation import notices_views, views_batches, views_wordlists  # noqa: E402

urlpatterns += [
    path("generate/batch-preview/", views_batches.batch_preview, name="batch_preview"),
    path("generate/notices/", notices_views.group_notices, name="group_notices"),
    path("generate/notices/dismiss/", notices_views.group_notices_dismiss, name="group_notices_dismiss"),
    path("word-lists/", views_wordlists.wordlist_list, name="wordlist_list"),
    path("word-lists/new/", views_wordlists.wordlist_create, name="wordlist_create"),
    path("word-lists/<id:pk>/", views_wordlists.wordlist_edit, name="wordlist_edit"),
    path("word-lists/<id:pk>/delete/", views_wordlists.wordlist_delete, name="wordlist_delete"),
]
