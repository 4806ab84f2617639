"""Collections, the ZIP download and the history export, Compare and the Catalog (generation/views_library.py)."""

from django.urls import path

from generation import views_library as views

urlpatterns = [
    path("collections/", views.collection_list, name="collection_list"),
    path("collections/add/", views.collection_add, name="collection_add"),
    path("collections/picker/", views.collection_picker, name="collection_picker"),
    path("collections/<id:pk>/", views.collection_detail, name="collection_detail"),
    path("collections/<id:pk>/edit/", views.collection_edit, name="collection_edit"),
    path("collections/<id:pk>/delete/", views.collection_delete, name="collection_delete"),
    path("collections/<id:pk>/remove/", views.collection_remove, name="collection_remove"),
    path("collections/<id:pk>/cover/", views.collection_cover, name="collection_cover"),
    path("history/zip/", views.history_zip, name="history_zip"),
    path("history/export/", views.history_export, name="history_export"),
    path("compare/", views.compare, name="compare"),
    path("catalog/", views.catalog, name="catalog"),
]
