"""One `APIRouter` per concern; `softmaxreg.serve.app.ROUTERS` lists the ones the app mounts."""
