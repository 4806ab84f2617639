from django.contrib.auth.decorators import login_required
from django.template.response import TemplateResponse

from miaohua_site.accounts.decorators import staff_required


@login_required
def dataset_list(request):
    return TemplateResponse(request, "training/dataset_list.html")


@staff_required
def training_list(request):
    return TemplateResponse(request, "training/training_list.html")
