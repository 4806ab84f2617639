from django.urls import path

from training import views

urlpatterns = [
    # Datasets: every signed-in person may look; admins on the dataset's Miaohua account change them.
    path("datasets/", views.dataset_list, name="dataset_list"),
    path("datasets/new/", views.dataset_create, name="dataset_create"),
    path("datasets/import/", views.dataset_import, name="dataset_import"),
    path("datasets/import/status/", views.dataset_import_status, name="dataset_import_status"),
    path("datasets/<id:pk>/", views.dataset_detail, name="dataset_detail"),
    path("datasets/<id:pk>/edit/", views.dataset_edit, name="dataset_edit"),
    path("datasets/<id:pk>/images/", views.dataset_images, name="dataset_images"),
    path("datasets/<id:pk>/images/upload/", views.dataset_upload, name="dataset_upload"),
    path("datasets/<id:pk>/images/send/", views.dataset_send, name="dataset_send"),
    path("datasets/<id:pk>/images/history/", views.dataset_from_history, name="dataset_from_history"),
    path("datasets/<id:pk>/images/remove/", views.dataset_images_remove, name="dataset_images_remove"),
    path("datasets/<id:pk>/images/retry/", views.dataset_images_retry, name="dataset_images_retry"),
    path(
        "datasets/<id:pk>/images/<id:image_pk>/<str:variant>/",
        views.dataset_image_file,
        name="dataset_image_file",
    ),
    # Training: admins only.
    path("", views.training_list, name="training_list"),
    path("new/", views.training_create, name="training_create"),
    path("new/choices/", views.training_form_choices, name="training_form_choices"),
    path("jobs/<id:pk>/card/", views.training_card, name="training_card"),
    path("jobs/<id:pk>/lora/", views.training_lora_link, name="training_lora_link"),
    path("notices/", views.training_notices, name="training_notices"),
    path("notices/dismiss/", views.training_notices_dismiss, name="training_notices_dismiss"),
]
