"""A membership saved or deleted drops its cached role (team.context_processors), so a new role shows at once; a
sign-in reads it into the cache, so pages do not."""

from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from team.context_processors import cached_role, role_cache_key
from team.models import Membership


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="team-membership-role-cache")
def forget_cached_role(sender, instance, **kwargs):
    cache.delete(role_cache_key(instance.user_id))


@receiver(user_logged_in, dispatch_uid="team-role-cache-on-sign-in")
def remember_role(sender, user, **kwargs):
    if not user.is_staff:
        cached_role(user)
