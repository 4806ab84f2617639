"""Saved searches ("smart folders"): the filters and search of My history or the team gallery under a name,
personal or shared with the team.

A saved search stores a query string, never results: whoever opens one is sent to the page with those filters and
sees only what THEY may see there (library.selectors). Who sees the search itself: its owner, and every member
(viewers too) once it is shared; admins see their own and the shared ones — a personal one stays personal. Only
the owner renames, shares or deletes one; everyone else gets a 404 for those, as for a search they cannot see.

Not audited, like collections: a saved search arranges one's own library and changes no work."""

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from library.models import SavedSearch
from library.selectors import HistoryFilters

NAME_MAX = SavedSearch._meta.get_field("name").max_length
QUERY_MAX = SavedSearch._meta.get_field("query").max_length


class SavedSearchRefused(ValueError):
    """Not saved: ``field`` names the field the message goes beside."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def normalised_query(raw: str) -> str:
    """A page's query string as the filters read it, without the cursor (and anything else the page ignores)."""
    filters = HistoryFilters.from_query(QueryDict(raw or ""))
    if filters.errors:
        raise SavedSearchRefused("query", " ".join(str(message) for message in filters.errors.values()))
    return filters.query()


def _clean_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise SavedSearchRefused("name", gettext("Give the search a name."))
    if len(name) > NAME_MAX:
        raise SavedSearchRefused("name", gettext("A name has at most %(max)s characters.") % {"max": NAME_MAX})
    return name


def _taken(name: str) -> SavedSearchRefused:
    return SavedSearchRefused("name", gettext("You already have a saved search named “%(name)s”.") % {"name": name})


# --- Writes -------------------------------------------------------------------------------------------------------


def saved_search_create(*, user, name: str, scope: str, query: str, is_shared: bool) -> SavedSearch:
    name = _clean_name(name)
    if scope not in SavedSearch.Scope.values:
        raise SavedSearchRefused("scope", gettext("Save a search of My history or of the team gallery."))
    query = normalised_query(query)
    if len(query) > QUERY_MAX:
        raise SavedSearchRefused("query", gettext("These filters are too long to save."))
    if SavedSearch.objects.filter(owner=user, name=name).exists():
        raise _taken(name)
    try:
        with transaction.atomic():
            return SavedSearch.objects.create(owner=user, name=name, scope=scope, query=query, is_shared=is_shared)
    except IntegrityError:  # the same name saved a moment ago in another tab
        raise _taken(name) from None


def saved_search_update(*, search: SavedSearch, name: str, is_shared: bool) -> SavedSearch:
    """Rename and share or unshare (the caller fetched it with saved_search_owned_by)."""
    name = _clean_name(name)
    if SavedSearch.objects.filter(owner_id=search.owner_id, name=name).exclude(pk=search.pk).exists():
        raise _taken(name)
    search.name, search.is_shared, search.updated_at = name, is_shared, timezone.now()
    try:
        with transaction.atomic():
            search.save(update_fields=["name", "is_shared", "updated_at"])
    except IntegrityError:
        raise _taken(name) from None
    return search


def saved_search_delete(*, search: SavedSearch) -> None:
    search.delete()


# --- Reads --------------------------------------------------------------------------------------------------------


def saved_searches_visible_to(user) -> QuerySet[SavedSearch]:
    """Their own and the team's shared ones (admins too: a personal one stays its owner's); none for visitors."""
    if not user.is_authenticated:
        return SavedSearch.objects.none()
    return SavedSearch.objects.filter(Q(owner=user) | Q(is_shared=True)).select_related("owner").order_by("name", "id")


def saved_search_for_user(user, pk) -> SavedSearch:
    """One saved search the user may open, or Http404."""
    return get_object_or_404(saved_searches_visible_to(user), pk=pk)


def saved_search_owned_by(user, pk) -> SavedSearch:
    """One of the user's own saved searches (to change it), or Http404."""
    if not user.is_authenticated:
        return get_object_or_404(SavedSearch.objects.none(), pk=pk)
    return get_object_or_404(SavedSearch.objects.filter(owner=user), pk=pk)


def url_of(search: SavedSearch) -> str:
    """Where opening it goes: its page with its filters."""
    page = reverse("gallery") if search.scope == SavedSearch.Scope.GALLERY else reverse("history")
    return f"{page}?{search.query}" if search.query else page
