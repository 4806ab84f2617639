from django.urls import path

from generation import views, views_catalog, views_styles

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
    path("styles/", views_styles.style_list, name="style_list"),
    path("styles/new/", views_styles.style_create, name="style_create"),
    path("styles/from-generate/", views_styles.style_from_generate, name="style_from_generate"),
    path("styles/<id:pk>/edit/", views_styles.style_edit, name="style_edit"),
    path("styles/<id:pk>/delete/", views_styles.style_delete, name="style_delete"),
]
