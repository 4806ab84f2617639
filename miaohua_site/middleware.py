"""Response headers Django does not set by itself."""

from django.conf import settings


class PermissionsPolicyMiddleware:
    """Every answer says which browser features the pages may use (settings.PERMISSIONS_POLICY): none of these."""

    def __init__(self, get_response):
        self.get_response = get_response
        policy = settings.PERMISSIONS_POLICY.items()
        self.header = ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in policy)

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
