"""Griffe extension for the docs build (mkdocs.yml): the docstrings' reST markup as Markdown.

The docstrings are Google style but use reST inline roles (``:class:`Entry```, about 450 of
them) and literal-block markers (``Quick start::``), which Markdown would show verbatim. This
extension rewrites them before mkdocstrings renders a docstring:

* ``:role:`name``` becomes ``name`` in code, linked to the object's API entry when the site has
  one. The name is resolved in the docstring's own scope (imports and enclosing objects), as
  Sphinx would; the link is an optional cross-reference, so a name the site does not document
  (a private helper, a torch class) stays plain code instead of failing the strict build.
  ``~a.b.c`` shows ``c``, as in Sphinx.
* A paragraph ending in ``::`` ends in ``:`` (the indented block after it is already a code
  block in Markdown).
* An ``Example:`` section header becomes ``Examples:``: griffe reads only the plural as an
  examples section (its ``>>>`` lines rendered as highlighted Python console code, doctest
  flags such as ``# doctest: +SKIP`` trimmed); the singular is an admonition whose ``>>>``
  lines Markdown turns into nested quotes.

It changes only what the site shows; the source docstrings stay as they are.
"""

from __future__ import annotations

import html
import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")
_LITERAL_MARKER = re.compile(r"(?<=\S)::$", re.MULTILINE)
_EXAMPLE_HEADER = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)


def _identifier(obj: Object, name: str) -> str:
    """The full dotted path ``name`` refers to from ``obj``'s scope (``name`` itself if unknown)."""
    head, _, rest = name.lstrip(".").partition(".")
    try:
        resolved = obj.resolve(head)
    except Exception:  # NameResolutionError, or an alias whose target is not loaded
        return name.lstrip(".")
    return f"{resolved}.{rest}" if rest else resolved


def rst_to_markdown(obj: Object, text: str) -> str:
    """``text`` with its reST roles turned into optional cross-references (see module doc)."""

    def role(match: re.Match[str]) -> str:
        tilde, name = match.groups()
        title = html.escape(name.rsplit(".", 1)[-1] if tilde else name.lstrip("."))
        ident = html.escape(_identifier(obj, name), quote=True)
        return f'<autoref identifier="{ident}" optional><code>{title}</code></autoref>'

    text = _EXAMPLE_HEADER.sub(r"\1Examples:", text)
    return _LITERAL_MARKER.sub(":", _ROLE.sub(role, text))


class RstRoles(Extension):
    """Rewrites every loaded object's docstring once the object tree is complete."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring (griffe calls this once per object below a package)."""
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj, obj.docstring.value)

    def on_package(self, *, pkg: Object, **kwargs: Any) -> None:
        """Rewrite a top-level package's own docstring (``on_object`` skips it)."""
        self.on_object(obj=pkg)
