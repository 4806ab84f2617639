from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from miaohua_site.accounts.decorators import upstream_account_required


@login_required
def home(request):
    return redirect("generate")


@upstream_account_required
def generate(request):
    return TemplateResponse(request, "generation/generate.html")


@login_required
def history(request):
    return TemplateResponse(request, "generation/history.html")


@upstream_account_required
def catalog(request):
    return TemplateResponse(request, "generation/catalog.html")
