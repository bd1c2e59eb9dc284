"""``lle plugins``, ``lle list`` and ``lle show``: what is installed.

Tables on a terminal; on a pipe the same rows are printed untruncated (one line each, tab
separated) so that ``lle list | grep`` and ``cut`` work; ``--json`` gives every field. None of
these commands imports torch: descriptions come from :mod:`lle_core.manifest`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lle_core.errors import LLEError


class UnknownKindError(LLEError, ValueError):
    """``lle list KIND`` with a kind that does not exist."""


def add_parser(sub: Any) -> None:
    """Add the ``plugins``, ``list`` and ``show`` subcommands."""
    p = sub.add_parser("plugins", help="installed plugins, their versions, components and errors")
    p.add_argument("--traceback", action="store_true", help="show full tracebacks of failures")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_plugins)
    p = sub.add_parser("list", help="registered components: lle list [KIND] [PATTERN]")
    p.add_argument("kind", nargs="?", help="component kind (model, fusion, loss, ...) or pattern")
    p.add_argument("pattern", nargs="?", help="wildcard on the name, e.g. 'neid.*'")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_list)
    p = sub.add_parser("show", help="one component: summary, paper, capabilities, parameters")
    p.add_argument("component", help="KIND:NAME or NAME (e.g. model:neid.model, neid.model)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run_show)


def _print_rows(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; untruncated tab-separated lines otherwise."""
    if not sys.stdout.isatty():
        print("\t".join(columns))
        for row in rows:
            print("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def run_plugins(args: argparse.Namespace) -> int:
    """Print one row per plugin; exit 1 when any plugin failed to load."""
    from lle_core.plugins import plugin_records

    records = plugin_records()
    failed = [r for r in records if r.status == "failed"]
    if args.json:
        print(json.dumps([
            {"plugin": r.id, "distribution": r.distribution, "version": r.version,
             "status": r.status, "components": r.components, "error": r.error,
             **({"traceback": r.traceback} if args.traceback else {})}
            for r in records
        ], indent=2))
        return 1 if failed else 0
    rows = [[r.id, r.distribution, r.version, r.status, str(len(r.components)), r.error or ""]
            for r in records]
    _print_rows("lle plugins",
                ["plugin", "distribution", "version", "status", "components", "error"], rows)
    if args.traceback:
        for r in records:
            if r.traceback:
                print(f"--- {r.id}", file=sys.stderr)
                print(r.traceback, file=sys.stderr)
    if failed:
        print(f"{len(failed)} plugin(s) failed to load: {', '.join(r.id for r in failed)} "
              "(lle plugins --traceback shows why)", file=sys.stderr)
        return 1
    return 0


def _notes(caps: Any, kind: str) -> str:
    if kind != "model":
        return ""
    notes = [f"x{caps.multiple_of}" if caps.multiple_of > 1 else "any size"]
    if caps.scale != 1:
        notes.append(f"scale {caps.scale}")
    notes.append("paired" if caps.needs_ground_truth else "no GT needed")
    notes.append(caps.tiling)
    return ", ".join(notes)


def run_list(args: argparse.Namespace) -> int:
    """Print registered components of one kind (or all) matching a pattern.

    ``lle list neid.*`` (one argument that is not a kind but looks like a name pattern) lists
    every kind; a bare word that is neither a kind nor matches anything is an error. A
    component whose description cannot be read (its class does not import, its parameters
    are not a pydantic model) is left out with one ``error:`` line naming its plugin, and the
    exit code is 1; every other component is listed.
    """
    from lle_core.registry import KINDS
    from lle_core.spec import list_components

    kind, pattern = args.kind, args.pattern
    if kind is not None and kind not in KINDS:
        if pattern is not None or not any(c in kind for c in ".*?["):
            raise UnknownKindError(
                f"unknown component kind {kind!r}; kinds are: {', '.join(KINDS)} "
                "(a name pattern needs a '.' or a wildcard, e.g. 'neid.*')"
            )
        kind, pattern = None, kind
    entries = list_components(kind, pattern)
    shown, broken = [], []
    for e in entries:  # cached descriptions: no imports
        try:
            shown.append((e, e.listing()))
        except Exception as err:  # a malformed component: reported against its plugin
            broken.append(f"error: {e.kind}:{e.name} of plugin {e.plugin} ({e.distribution} "
                          f"{e.version}) is left out: {type(err).__name__}: {err}")
    if args.json:
        print(json.dumps([
            {"kind": e.kind, "name": e.name, "summary": d.summary, "paper": d.paper,
             "capabilities": d.capabilities.model_dump(mode="json"),
             "plugin": e.plugin, "distribution": e.distribution, "version": e.version}
            for e, d in shown
        ], indent=2))
    else:
        rows = [[e.kind, e.name, d.summary, _notes(d.capabilities, e.kind),
                 f"{e.distribution} {e.version}"] for e, d in shown]
        _print_rows(f"lle components{f' ({kind})' if kind else ''}",
                    ["kind", "name", "summary", "capabilities", "from"], rows)
    for line in broken:
        print(line.replace("\n", " "), file=sys.stderr)
    if not entries:
        print("nothing matches", file=sys.stderr)
        return 1
    return 1 if broken else 0


def docstring_attributes(cls: type) -> dict[str, str]:
    """``name: text`` items of the ``Attributes:`` section of a Google-style class docstring."""
    import inspect

    out: dict[str, str] = {}
    lines = (inspect.getdoc(cls) or "").splitlines()
    current = None
    inside = False
    for line in lines:
        if line.strip() == "Attributes:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line.startswith(" "):
            break  # next section
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if indent <= 4 and ":" in stripped and " " not in stripped.split(":", 1)[0]:
            current, _, text = stripped.partition(":")
            out[current] = text.strip()
        elif current and stripped:
            out[current] += " " + stripped
    return out


def type_label(annotation: Any) -> str:
    """A readable name of a parameter's type: ``int``, ``'none' | 'batch'``, ``fusion spec | None``.

    Validators, serializers and other ``Annotated`` metadata are left out; a nested spec
    (:func:`lle_core.spec.SpecOf`) shows as the kind it holds.
    """
    import types
    import typing

    from lle_core.spec import SpecKind

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        kinds = [m.kind for m in args[1:] if isinstance(m, SpecKind)]
        return f"{kinds[0]} spec" if kinds else type_label(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(type_label(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if annotation is None or annotation is type(None):
        return "None"
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else type_label(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def parameter_rows(params: Any) -> list[dict[str, str]]:
    """Name, type, default and description of every field of a pydantic parameter model.

    The description is the field's ``description`` or else its entry in the model's
    ``Attributes:`` docstring section.
    """
    from pydantic_core import PydanticUndefined

    from lle_core.spec import SpecKind

    documented = docstring_attributes(params)
    rows = []
    for name, field in params.model_fields.items():
        kinds = [m.kind for m in field.metadata if isinstance(m, SpecKind)]
        type_name = f"{kinds[0]} spec" if kinds else type_label(field.annotation)
        if field.default is not PydanticUndefined:
            default = repr(field.default)
        elif field.default_factory is not None:
            default = repr(field.default_factory())
        else:
            default = "(required)"
        rows.append({"name": name, "type": type_name, "default": default,
                     "description": field.description or documented.get(name, "")})
    return rows


def run_show(args: argparse.Namespace) -> int:
    """Print one component's summary, paper, origin, capabilities and parameters."""
    from lle_core.errors import ComponentNotFoundError
    from lle_core.registry import KINDS, registries

    kind, sep, name = args.component.partition(":")
    if not sep:
        kind, name = "", args.component
    kinds = [kind] if kind else list(KINDS)
    if kind and kind not in KINDS:
        raise UnknownKindError(f"unknown component kind {kind!r}; kinds are: {', '.join(KINDS)}")
    found = []
    for k in kinds:
        try:
            found.append(registries()[k].get(name))
        except ComponentNotFoundError as err:
            if kind:
                raise err
    if not found:
        raise ComponentNotFoundError(kind or "component", name, [], None, None)
    if len(found) > 1:
        raise LLEError(f"{name!r} names several components: "
                       + ", ".join(f"{e.kind}:{e.name}" for e in found)
                       + "; write KIND:NAME")
    entry = found[0]
    params = parameter_rows(entry.params)
    info: dict[str, Any] = {"kind": entry.kind, "name": entry.name, "summary": entry.summary,
            "paper": entry.paper, "from": entry.origin(),
            "capabilities": entry.capabilities.model_dump(mode="json"),
            "parameters": params}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{entry.kind} {entry.name}: {entry.summary}")
    if entry.paper:
        print(f"paper: {entry.paper}")
    print(f"from: {entry.origin()}")
    caps = ", ".join(f"{k}={v}" for k, v in info["capabilities"].items())
    print(f"capabilities: {caps}")
    if not params:
        print("parameters: none")
    else:
        print("parameters:")
        for p in params:
            line = f"  {p['name']}: {p['type']} = {p['default']}"
            print(f"{line}  # {p['description']}" if p["description"] else line)
    return 0
