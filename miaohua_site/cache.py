"""Django's file-based cache with an ``add`` that is atomic across processes.

Django's own ``FileBasedCache.add`` checks for the key, then writes it: two processes can both "add" the same
key. Web workers and django-q2 workers take locks with ``cache.add`` (generation.catalog: one refresh of a
catalog at a time), so here every ``add`` holds an exclusive lock on one file of the cache folder while it
checks and writes. Redis, the other cache we run on, is atomic by itself (SET NX)."""

import os

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache as DjangoFileBasedCache
from django.core.files import locks


class FileBasedCache(DjangoFileBasedCache):
    lock_name = "add.lock"  # no ".djcache" suffix: never culled, never read as an entry

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._createdir()
        with open(os.path.join(self._dir, self.lock_name), "ab") as lock:
            locks.lock(lock, locks.LOCK_EX)
            try:
                return super().add(key, value, timeout, version)
            finally:
                locks.unlock(lock)
