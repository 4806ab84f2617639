"""The team's word lists (issue #13): every member reads them (so they know which __name__ exist); admins
create, change and delete them. Members get a 403 on the admin pages, like the team's other admin pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generation import wordlists
from generation.models import WordList
from miaohua_site.accounts.decorators import staff_required


@login_required
@require_GET
def wordlist_list(request):
    return TemplateResponse(request, "generation/wordlists.html", {"wordlists": WordList.objects.all()})


def _edit_page(request, form, *, status=200):
    return TemplateResponse(request, "generation/wordlist_form.html", {"form": form}, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def wordlist_create(request):
    form = wordlists.WordListForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            wordlist = wordlists.wordlist_save(form=form, actor=request.user)
            messages.success(request, gettext("The word list “%(name)s” is saved.") % {"name": wordlist.name})
            return redirect("wordlist_list")
        return _edit_page(request, form, status=400)
    return _edit_page(request, form)


@staff_required
@require_http_methods(["GET", "POST"])
def wordlist_edit(request, pk):
    wordlist = get_object_or_404(WordList, pk=pk)
    form = wordlists.WordListForm(request.POST if request.method == "POST" else None, instance=wordlist)
    if request.method == "POST":
        if form.is_valid():
            wordlist = wordlists.wordlist_save(form=form, actor=request.user)
            messages.success(request, gettext("The word list “%(name)s” is saved.") % {"name": wordlist.name})
            return redirect("wordlist_list")
        return _edit_page(request, form, status=400)
    return _edit_page(request, form)


@staff_required
@require_POST
def wordlist_delete(request, pk):
    wordlist = get_object_or_404(WordList, pk=pk)
    name = wordlist.name
    wordlists.wordlist_delete(wordlist=wordlist, actor=request.user)
    messages.success(request, gettext("The word list “%(name)s” is deleted.") % {"name": name})
    return redirect("wordlist_list")
