"""django-q2 entry points of the generation app. Each takes primary keys, reloads, calls a service, and is safe to
run twice. Submitting, polling and downloads are not jobs: the engine runs them (generation/services/, the
sources registered with miaohua_site/workers/engine.py), so they never wait in django-q2's queue."""
