"""``softmaxreg serve``: a trained run in a web page and behind a JSON API (FastAPI on uvicorn).

Layer: beside ``commands`` (rank 4). May import: the core, ``book``, ``datasets``, ``models`` and
``runs`` (the training worker starts runs with `softmaxreg.runs.start`, as ``train`` does), never
``commands``; only ``softmaxreg serve`` (``commands``) imports it. FastAPI and uvicorn come with
``pip install "softmaxreg[serve]"`` and are imported only by this subpackage.

- `app`: `create_app`, the app factory: routers (one per concern, mounted from ``ROUTERS``),
  error handlers, middleware and the page's static files;
- `state`: the served run (model, templates, test-set predictions) held in a swappable `ModelStore`
  that handlers get through a dependency;
- `schemas`: the JSON bodies (Pydantic), so that ``/openapi.json`` documents the API;
- `errors`: our exceptions and one handler per error family: ``{"error": "<one line>"}``;
- `middleware`: security headers on every response, and the request body limit;
- `server`: binding the socket and running uvicorn (one process or ``--workers N``);
- `training`: ``--allow-training``: the run trained from the page (one at a time) and the pages
  watching it; `worker`: the process that trains it, as ``softmaxreg train`` does;
- `routers/`: ``/api/health``, ``/api/predict``, ``/api/model``, ``/api/testset``, ``/api/train``,
  ``/api/runs``, ``/docs``, ``/``;
- ``static/``: the page: ``index.html``, ``style.css`` and one JS module per view, no build step.
"""
