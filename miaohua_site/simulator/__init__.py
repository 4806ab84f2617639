"""The Miaohua v1b API, offline: "the vendor" for development, tests and benchmarks.

Mounted at /simulator/api/v1b/ when settings.MIAOHUA_SIMULATOR. It imports nothing of the project and
keeps all of its state in its own tables, so every web and worker process sees the same vendor.

Rooms:
    urls.py views.py     the 20 endpoints of the digest, plus signed file links under /simulator/files/
    api.py               shared plumbing: faults, lazy seeding, JSON body, token, the answer shape
                         (MIAOHUA_SIMULATOR_SHAPE: live by default, seed, envelope), call log
    errors.py            vendor codes → HTTP statuses in the seed shape (the table is in its docstring)
    validation.py        task_submit's required fields, ranges and legacy shapes
    services/            accounts, generation, uploads, catalogs, datasets, training
    catalog.py           the base models, LoRAs, ControlNet units and forms; ensure_seeded()
    render.py links.py   deterministic labelled pictures; signed, expiring links
    ratelimit.py         task_results' 6 calls/s per token, counted in the database
    faults.py            MIAOHUA_SIMULATOR_FAULTS (format in its docstring)
    stats.py clock.py    what tests and benchmarks may use (below)

For tests and benchmarks (in-process):
    stats.calls("task_results"), stats.calls(code=429), stats.ids_requested(), stats.history(),
    stats.reset()
    clock.advance(seconds), clock.freeze(), clock.reset()       — the simulator's notion of now
    SimAccount.objects.get(email=...).expire_tokens_now()      — force a re-login (code 411)
    services.accounts.account_expire_tokens(email=...), account_create(email=..., password=..., credits=...)
    SimAccount fields credits / max_running_tasks / banned     — codes 124 / 123 / 416
    catalog.ensure_seeded()
Markers in settings: MIAOHUA_SIMULATOR_FAIL_MARKER in a prompt (or training name) fails it;
MIAOHUA_SIMULATOR_SENSITIVE_MARKER in a prompt answers 430, in an uploaded file's name 704.
The management command `manage.py simulator` does the same from a shell."""
