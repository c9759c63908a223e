"""One module per CLI command; each exposes ``run(args) -> int``. Imported only when the command runs."""
