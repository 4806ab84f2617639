"""From the Generate form to a task, and back: the vendor parameters a valid form stands for, the uploads a
form keeps across an error, and the form's initial values from an earlier task ("reuse these settings")."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from generation import planning, services
from generation.forms import CUSTOM, GenerateForm
from generation.models import InputImage
from generation.plans import Plan, TaskPlan
from miaohua_site.accounts.services import account_for_user
from team.services.quotas import QuotaExceeded


def _store_image(user, form, name, resolve_image):
    """Resolve one image source of a form into an InputImage (and remember it on the form for re-rendering)."""
    data = getattr(form, "cleaned_data", {})
    upload = data.get(name) if name not in form.errors else None
    try:
        image = resolve_image(user, upload, data.get(f"{name}_input"), data.get(f"{name}_from"))
    except ValidationError as exc:
        form.add_error(name, exc)
        return None
    if image is not None and upload:
        # Kept for the re-rendered form: the hidden field now points at the stored upload.
        form.data = form.data.copy()
        form.data[form.add_prefix(f"{name}_input")] = str(image.pk)
        form.data[form.add_prefix(f"{name}_from")] = ""
    return image


def keep_uploads(*, user, form, units, resolve_image) -> None:
    """The form has errors elsewhere: store the images that were fine, so the user need not upload them again."""
    if form.data.get("mode") == "img2img":
        _store_image(user, form, "init_image", resolve_image)
    for unit in units:
        _store_image(user, unit, "image", resolve_image)


def params_from_form(form: GenerateForm, init_ref: str | None, units_with_refs) -> dict:
    data = form.cleaned_data
    params = {
        "versionid": data["versionid"],
        "prompt": data["prompt"],
        "neg_prompt": data.get("neg_prompt") or "",
        "n_images": data["n_images"],
        "scale": data["scale"],
        "ddim_steps": data["ddim_steps"],
        "select_seed": data["select_seed"],
        "add_prompt": bool(data.get("add_prompt")),
        "strength": data["strength"] if data.get("strength") is not None else 0.6,
    }
    if data.get("output_size"):
        params["output_size"] = data["output_size"]
    if data["mode"] == "img2img" and init_ref:
        params["init_img"] = init_ref
    if units_with_refs:
        params["cn_configs"] = [unit.vendor_config(ref) for unit, ref in units_with_refs]
    if data.get("lora_versionid"):
        params["lora_configs"] = [{"versionid": data["lora_versionid"], "merge_weight": data["lora_weight"]}]
    return params


def submit_from_form(*, user, form, units, resolve_image, extras=None):
    """The task (or, for a batch or a sweep, the TaskGroup) a valid form stands for; None with the reasons on the
    forms. ``extras`` are generation.planning's forms (styles, batch, sweep), already valid."""
    init_ref = None
    if form.cleaned_data["mode"] == "img2img":
        init = _store_image(user, form, "init_image", resolve_image)
        if init is None:
            if "init_image" not in form.errors:  # one reason beside the field, not two
                form.add_error("init_image", gettext("This image is no longer available: upload it again."))
            return None
        init_ref = init.reference
    units_with_refs = []
    for unit in units:
        image = _store_image(user, unit, "image", resolve_image)
        if image is None:
            if "image" not in unit.errors:
                unit.add_error("image", gettext("This image is no longer available: upload it again."))
            return None
        units_with_refs.append((unit, image.reference))
    limit = form.cleaned_data.get("sensitive_limit_value")
    account = account_for_user(user)
    # The content filter's strictness belongs to the member's own account; the team account keeps the team's.
    if limit is not None and account is not None and not account.is_team and limit != account.sensitive_limit_value:
        type(account).objects.filter(pk=account.pk).update(sensitive_limit_value=limit)
    params = params_from_form(form, init_ref, units_with_refs)
    model = form.selected_model
    plan = (
        planning.plan_from_form(
            user=user, form=form, extras=extras or {}, params=params, model_name=model.model_name if model else ""
        )
        if extras is not None
        else Plan(tasks=[TaskPlan(params=params, model_name=model.model_name if model else "")])
    )
    if plan is None:
        return None
    try:
        if plan.kind is None:
            [only] = plan.tasks
            return services.generation_submit(
                user=user,
                params=only.params,
                idempotency_key=form.cleaned_data["idempotency_key"],
                model_name=only.model_name,
                style_ids=only.style_ids,
                style_names=only.style_names,
            )
        return services.generation_submit_group(
            user=user, plan=plan, idempotency_key=form.cleaned_data["idempotency_key"]
        )
    except QuotaExceeded as refused:  # beside "Images" for the images quotas, above the form for tasks in flight
        form.add_error(refused.field, refused.message)
        return None


def _input_id(ref) -> int | None:
    prefix = InputImage.REFERENCE_PREFIX
    if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :].isdigit():
        return int(ref[len(prefix) :])
    return None


def initial_from_task(task) -> tuple[dict, list[dict]]:
    """The Generate form's initial values that reproduce a task (ControlNet and LoRA included)."""
    p = task.params
    initial = {
        key: p[key]
        for key in (
            "versionid",
            "prompt",
            "neg_prompt",
            "n_images",
            "scale",
            "ddim_steps",
            "select_seed",
            "add_prompt",
            "strength",
        )
        if key in p
    }
    size = p.get("output_size") or ""
    initial["output_size"] = size
    if size:
        width, _, height = size.partition("x")
        initial.update(width=width, height=height)
    if p.get("init_img"):
        initial.update(mode="img2img", init_image_input=_input_id(p["init_img"]))
    lora = (p.get("lora_configs") or [None])[0]
    if lora:
        initial.update(lora_versionid=lora.get("versionid"), lora_weight=lora.get("merge_weight"))
    units = []
    for cn in p.get("cn_configs") or []:
        unit = {
            "cn": cn.get("cn"),
            "weight": cn.get("weight"),
            "guidance_start": cn.get("guidance_start", 0),
            "guidance_end": cn.get("guidance_end", 1),
            "image_input": _input_id(cn.get("img")),
        }
        unit.update(cn.get("config") or {})
        units.append(unit)
    return initial, units


def image_describe(*, input_image, client) -> str:
    """img2txt needs the image on the vendor first: upload it, then ask for the caption."""
    with input_image.stored_file.open("rb") as handle:
        url = client.upload_img(handle)
    return client.img2txt(url)


__all__ = ["CUSTOM", "keep_uploads", "submit_from_form", "initial_from_task", "image_describe"]
