"""The command line: `cli` parses, and one module per command exposes ``run(args) -> int``.

A command's module is imported only when the command runs, so ``softmaxreg --help`` stays instant.

May import: every layer below (the core, ``book``, ``datasets``, ``models``, ``runs``). Nothing
imports from here except ``softmaxreg.__main__``.
"""
