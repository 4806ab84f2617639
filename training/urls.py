from django.urls import path

from training import views

urlpatterns = [
    path("datasets/", views.dataset_list, name="dataset_list"),
    path("", views.training_list, name="training_list"),
]
