"""The file cache's ``add`` is atomic: of many web or worker processes adding the same key at once (a refresh
lock of generation.catalog), exactly one succeeds. Each cache object opens the folder on its own, as separate
processes do."""

import threading

from miaohua_site.cache import FileBasedCache


def test_an_add_of_the_same_key_at_once_succeeds_once(tmp_path):
    caches = [FileBasedCache(str(tmp_path), {}) for _ in range(12)]
    won, start = [], threading.Barrier(len(caches))

    def add(cache):
        start.wait()
        if cache.add("catalog:lock", "mine", timeout=30):
            won.append(cache)

    threads = [threading.Thread(target=add, args=(cache,)) for cache in caches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert caches[0].get("catalog:lock") == "mine" and not caches[0].add("catalog:lock", "again")
    caches[0].clear()
    assert caches[1].add("catalog:lock", "after a clear")
