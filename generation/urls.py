from django.urls import include, path

from generation import views, views_history

urlpatterns = [
    path("", views.home, name="home"),
    path("generate/", views.generate, name="generate"),
    path("generate/controlnet-unit/", views.controlnet_unit, name="controlnet_unit"),
    path("generate/pickers/<slug:name>/", views.generate_picker, name="generate_picker"),
    path("generate/pick-image/", views.image_picker, name="image_picker"),
    path("tasks/<id:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<id:pk>/card/", views.task_card, name="task_card"),
    path("tasks/<id:pk>/retry/", views.task_retry, name="task_retry"),
    path("images/<id:pk>/", views_history.image_detail, name="image_detail"),
    path("images/<id:pk>/download/", views.image_download, name="image_download"),
    path("images/<id:pk>/<str:variant>/", views.image_file, name="image_file"),
    path("inputs/<id:pk>/", views.input_file, name="input_file"),
    path("queue/", views.queue_badge, name="queue_badge"),
    path("describe/", views.describe, name="describe"),
    path("history/", views_history.history, name="history"),
    path("gallery/", views_history.gallery, name="gallery"),
    path("trash/", views_history.trash_list, name="trash"),
    path("tasks/delete/", views_history.tasks_delete, name="tasks_delete"),
    path("tasks/restore/", views_history.tasks_restore, name="tasks_restore"),
    path("tasks/<id:pk>/favourite/", views_history.task_favourite, name="task_favourite"),
    path("settings/sharing/", views_history.sharing, name="sharing"),
    path("", include("generation.urls_library")),
]
