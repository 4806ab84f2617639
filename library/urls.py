"""The library's pages: history, the team gallery, the image viewer, trash, favourites, sharing, collections,
tags, saved searches, the ZIP download and the history export, and Compare."""

from django.urls import path

from library import views, views_collections, views_tags

urlpatterns = [
    path("history/", views.history, name="history"),
    path("gallery/", views.gallery, name="gallery"),
    path("images/<id:pk>/", views.image_detail, name="image_detail"),
    path("trash/", views.trash_list, name="trash"),
    path("tasks/delete/", views.tasks_delete, name="tasks_delete"),
    path("tasks/restore/", views.tasks_restore, name="tasks_restore"),
    path("tasks/<id:pk>/favourite/", views.task_favourite, name="task_favourite"),
    path("settings/sharing/", views.sharing, name="sharing"),
    path("collections/", views_collections.collection_list, name="collection_list"),
    path("collections/add/", views_collections.collection_add, name="collection_add"),
    path("collections/picker/", views_collections.collection_picker, name="collection_picker"),
    path("collections/<id:pk>/", views_collections.collection_detail, name="collection_detail"),
    path("collections/<id:pk>/edit/", views_collections.collection_edit, name="collection_edit"),
    path("collections/<id:pk>/delete/", views_collections.collection_delete, name="collection_delete"),
    path("collections/<id:pk>/remove/", views_collections.collection_remove, name="collection_remove"),
    path("collections/<id:pk>/cover/", views_collections.collection_cover, name="collection_cover"),
    path("history/zip/", views_collections.history_zip, name="history_zip"),
    path("history/export/", views_collections.history_export, name="history_export"),
    path("compare/", views_collections.compare, name="compare"),
    path("tasks/<id:pk>/tags/", views_tags.task_tags, name="task_tags"),
    path("tasks/tags/", views_tags.tasks_tag, name="tasks_tag"),
    path("tags/suggestions/", views_tags.tag_suggestions, name="tag_suggestions"),
    path("searches/", views_tags.saved_search_list, name="saved_search_list"),
    path("searches/add/", views_tags.saved_search_add, name="saved_search_add"),
    path("searches/<id:pk>/", views_tags.saved_search_open, name="saved_search_open"),
    path("searches/<id:pk>/edit/", views_tags.saved_search_edit, name="saved_search_edit"),
    path("searches/<id:pk>/delete/", views_tags.saved_search_delete, name="saved_search_delete"),
]
