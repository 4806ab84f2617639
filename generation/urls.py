from django.urls import path

from generation import views

urlpatterns = [
    path("", views.home, name="home"),
    path("generate/", views.generate, name="generate"),
    path("history/", views.history, name="history"),
    path("catalog/", views.catalog, name="catalog"),
]
