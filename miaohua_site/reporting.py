"""Error reports (the debug page with DEBUG=0, ADMINS mail, any reporter) never carry a Miaohua password or token."""

from django.views.debug import SafeExceptionReporterFilter

# Modules whose frames hold credentials in their local variables (request bodies, login payloads).
_SECRET_MODULES = ("miaohua_site.upstream", "miaohua_site.accounts")


class SecretsFilter(SafeExceptionReporterFilter):
    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if request is not None and "password" in params:
            params = params.copy()
            params["password"] = self.cleansed_substitute
        return params

    def get_traceback_frame_variables(self, request, tb_frame):
        module = tb_frame.f_globals.get("__name__", "")
        if module.startswith(_SECRET_MODULES):
            return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
        return super().get_traceback_frame_variables(request, tb_frame)
