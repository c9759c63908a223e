"""MkDocs hooks: the reference pages that are generated from the code, so that they cannot drift.

A page asks for a generated part with a line of its own, ``<!-- generate: NAME -->``; the hook replaces
it with Markdown made when the site is built:

- ``cli``: every command and option of ``softmaxreg``, walked from `softmaxreg.commands.cli.build_parser`
  (usage lines as ``--help`` prints them, then one table row per option);
- ``http``: every path, parameter, body, response and schema of the app's OpenAPI document
  (``create_app(None).openapi()``), as tables: static HTML in the site, no JavaScript, no CDN.

Registered in ``mkdocs.yml`` (``hooks:``); `tests/test_docs.py` checks the generated parts too.

The Vietnamese pages (``docs/vi/``) are one site with the English ones, so the theme writes its own
words in English; `on_post_page` gives those pages ``<html lang="vi">`` (screen readers then read them
in Vietnamese) and the theme's words in Vietnamese, from Material's own translation of them.
"""

from __future__ import annotations

import argparse
import functools
import re
from typing import Any

MARKER = re.compile(r"^<!-- generate: (\w+) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return MARKER.sub(lambda match: GENERATORS[match.group(1)](), markdown)


# -- the Vietnamese pages ----------------------------------------------------------------------------

OUR_WORDS_VI = {  # the theme's words that come from mkdocs.yml or Python-Markdown, not from Material
    "Dark theme": "Giao diện tối",
    "Light theme": "Giao diện sáng",
    "Permanent link": "Liên kết cố định",
}


def on_post_page(output: str, page: Any, config: Any) -> str:
    if not page.file.src_uri.startswith("vi/"):
        return output
    output = output.replace('<html lang="en"', '<html lang="vi"', 1)
    for english, vietnamese in _theme_words_vi().items():
        quoted = re.escape(english)
        output = re.sub(f'="{quoted}(["|:])', lambda m, vi=vietnamese: f'="{vi}{m[1]}', output)  # labels, "Next: X"
        output = re.sub(f">(\\s*){quoted}(\\s*)<", lambda m, vi=vietnamese: f">{m[1]}{vi}{m[2]}<", output)  # text
    for key, (english, vietnamese) in _theme_keys_vi().items():  # the search's and copy button's words
        output = output.replace(f'"{key}": "{english}"', f'"{key}": "{vietnamese}"')
    return output


@functools.cache
def _theme_keys_vi() -> dict[str, tuple[str, str]]:
    """Material's words by key: ``key -> (English, Vietnamese)``, read from its own translations."""
    from pathlib import Path

    import material

    languages = Path(material.__file__).parent / "templates" / "partials" / "languages"
    pairs = [dict(re.findall(r'^\s*"([\w.]+)": "([^"]*)"', (languages / f"{lang}.html").read_text(), re.M))
             for lang in ("en", "vi")]  # fmt: skip
    return {key: (text, pairs[1][key]) for key, text in pairs[0].items() if key in pairs[1] and key != "language"}


def _theme_words_vi() -> dict[str, str]:
    words = {english: vietnamese for english, vietnamese in _theme_keys_vi().values() if len(english) > 2}
    return words | OUR_WORDS_VI


# -- the command line --------------------------------------------------------------------------------


def cli_markdown() -> str:
    from softmaxreg.commands.cli import build_parser

    parser = build_parser()
    parts = [_escape(parser.description or ""), _usage(parser, "softmaxreg"), _options_table(parser)]
    for name, sub in _subcommands(parser).items():
        parts += [f"## softmaxreg {name}", _escape(sub.description or ""), _usage(sub, f"softmaxreg {name}")]
        parts.append(_options_table(sub))
    return "\n\n".join(part for part in parts if part) + "\n"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _usage(parser: argparse.ArgumentParser, prog: str) -> str:
    parser.prog = prog
    usage = parser.format_usage().removeprefix("usage: ").rstrip()
    return f"```text\n{usage}\n```"


def _options_table(parser: argparse.ArgumentParser) -> str:
    rows = ["| argument | value | default | what it does |", "| --- | --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        names = ", ".join(f"`{name}`" for name in action.option_strings) or f"`{action.metavar or action.dest}`"
        rows.append(f"| {names} | {_value(action)} | {_default(action)} | {_escape(action.help or '')} |")
    return "\n".join(rows)


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices is not None:
        return " \\| ".join(f"`{choice}`" for choice in action.choices)
    metavar = action.metavar or (action.dest.upper() if action.option_strings else action.dest)
    many = {"+": " ...", "*": " ...", "?": " (optional)"}.get(str(action.nargs), "")
    return f"`{metavar}`{many}"


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS) or not action.option_strings:
        return ""
    return f"`{action.default}`"


def _escape(text: str) -> str:
    """Table cells: a `|` ends the cell, `<`/`>` would be HTML."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


# -- the HTTP API ------------------------------------------------------------------------------------


def http_markdown() -> str:
    from softmaxreg.serve.app import create_app

    document = create_app(None).openapi()
    parts = [f"OpenAPI {document['openapi']}, API version `{document['info']['version']}`."]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            parts.append(_operation(path, method, operation))
    parts.append("## Schemas")
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        parts.append(_schema(name, schema))
    return "\n\n".join(parts) + "\n"


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    lines = [f"## `{method.upper()} {path}`", ""]
    summary = operation.get("summary", "")
    description = operation.get("description", "")
    lines += [text for text in (summary and f"**{summary}.**" if summary != description else "", description) if text]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["", "| parameter | in | type | required | what it is |", "| --- | --- | --- | --- | --- |"]
        for p in parameters:
            schema = p.get("schema", {})
            kind = _type(schema) + (f", default `{schema['default']}`" if "default" in schema else "")
            required = "yes" if p.get("required") else ""
            text = _escape(p.get("description", "") or schema.get("description", ""))
            lines.append(f"| `{p['name']}` | {p['in']} | {kind} | {required} | {text} |")
    body = operation.get("requestBody")
    if body:
        lines += ["", "Request body" + (" (required)" if body.get("required") else "") + ":", ""]
        lines += [f"- `{media}`: {_type(content.get('schema', {}))}" for media, content in body["content"].items()]
    lines += ["", "| status | what it means | body |", "| --- | --- | --- |"]
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        kinds = "; ".join(f"`{media}` {_type(c.get('schema', {}))}".rstrip() for media, c in content.items())
        lines.append(f"| {status} | {_escape(response.get('description', ''))} | {kinds} |")
    return "\n".join(lines)


def _schema(name: str, schema: dict[str, Any]) -> str:
    lines = [f"### {name} {{ #{_anchor(name)} }}", ""]
    if schema.get("description"):
        lines += [_escape(schema["description"]).replace("\n", " "), ""]
    properties = schema.get("properties", {})
    if not properties:
        return "\n".join([*lines, f"Type: {_type({k: v for k, v in schema.items() if k != 'title'})}"])
    required = set(schema.get("required", []))
    lines += ["| field | type | required | what it is |", "| --- | --- | --- | --- |"]
    for field, spec in properties.items():
        text = _escape(spec.get("description", "")).replace("\n", " ")
        lines.append(f"| `{field}` | {_type(spec)} | {'yes' if field in required else ''} | {text} |")
    return "\n".join(lines)


def _anchor(name: str) -> str:
    return "schema-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _type(schema: dict[str, Any]) -> str:
    """A JSON schema in a few words: ``integer (1 to 10)``, ``array of [Result](#schema-result)``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " or ".join(_type(option) for option in schema[key])
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type", "")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}".rstrip()
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {_type(schema['additionalProperties'])}"
    bounds = [
        f"{word} {schema[key]}"
        for key, word in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"),
                          ("minItems", "at least"), ("maxItems", "at most"), ("maxLength", "length ≤"))
        if key in schema
    ]  # fmt: skip
    if schema.get("format") == "binary":
        kind = "file"
    return (f"{kind} ({', '.join(bounds)})" if bounds else kind) or "any"


GENERATORS = {"cli": cli_markdown, "http": http_markdown}
