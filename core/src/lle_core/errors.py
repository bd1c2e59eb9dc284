"""Typed errors raised by lle-core.

Every error names what is at fault (component name, config key path, file, or tensor
shape) so that a user can fix the problem without reading a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class LLEError(Exception):
    """Base class of every error raised on purpose by lle."""


class ComponentNotFoundError(LLEError, KeyError):
    """A component name is not registered.

    Subclasses ``KeyError`` so that ``except KeyError`` keeps working. The message carries
    did-you-mean suggestions and, when the name belongs to a plugin that is not installed,
    the ``pip install`` command that fixes it.

    Attributes:
        kind: The registry kind that was searched (``"fusion"``, ``"model"``, ...).
        name: The name that was asked for.
        suggestions: Close registered names, best first.
        install_hint: The distribution to install, when known.
    """

    def __init__(
        self,
        kind: str,
        name: str,
        suggestions: Sequence[str] = (),
        install_hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = list(suggestions)
        self.install_hint = install_hint
        parts = [f"no {kind} named {name!r} is registered."]
        if detail:
            parts.append(detail)
        if install_hint:
            parts.append(
                f"It belongs to a plugin that is not installed: pip install {install_hint}"
            )
        if self.suggestions:
            parts.append("Did you mean: " + ", ".join(self.suggestions) + "?")
        if not install_hint and not self.suggestions:
            parts.append(f"See `lle list {kind}` for what is available.")
        self.message = " ".join(parts)
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message


class AmbiguousNameError(ComponentNotFoundError):
    """A short name matches several canonical names; the message lists the candidates."""

    def __init__(self, kind: str, name: str, candidates: Sequence[str]) -> None:
        self.candidates = list(candidates)
        super().__init__(
            kind,
            name,
            detail=(
                f"The short name {name!r} is ambiguous: it matches "
                + ", ".join(self.candidates)
                + ". Use the full plugin-qualified name."
            ),
        )
        self.message = f"{kind} name {name!r} is ambiguous; candidates: " + ", ".join(
            self.candidates
        )
        self.args = (self.message,)


class DuplicateComponentError(LLEError):
    """Two registrations claim the same canonical name; the message names both origins."""


class PluginLoadError(LLEError):
    """A plugin could not be loaded (import error, wrong API version, failing hook)."""


class ConfigError(LLEError, ValueError):
    """A component spec or run config is invalid.

    Attributes:
        problems: ``(path, message)`` pairs; ``path`` is the dotted key path in the config
            (``"model.fusion.op"``) or ``"<root>"``.
    """

    def __init__(self, problems: Sequence[tuple[str, str]], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"invalid config{f' in {source}' if source else ''}:"
        lines = [f"  {path}: {msg}" for path, msg in self.problems]
        super().__init__("\n".join([head, *lines]))


class TensorError(LLEError, ValueError):
    """A tensor given to a public entry point is unusable (shape, dtype, range, NaN/Inf).

    Raised for wrong shape or dtype, an empty tensor, values outside their range, or NaN/Inf;
    the message names the shape or the bad values.
    """


class ShapeError(TensorError):
    """A tensor has a shape that a component's contract does not accept."""


class ImageReadError(LLEError, OSError):
    """An image file is missing, corrupt, or not an image; the message names the file."""


class OutputError(LLEError, OSError):
    """An output (image, report, folder) cannot be written; the message names the path."""


class DatasetError(LLEError, ValueError):
    """A dataset folder is malformed (missing partner, size mismatch, empty folder)."""


class WeightsError(LLEError, RuntimeError):
    """Weights are missing, unreachable offline, or do not fit the architecture."""


class CheckpointError(LLEError, RuntimeError):
    """A checkpoint is missing, incomplete, or does not match the run that loads it."""


class UnsafeCacheError(LLEError, OSError):
    """A cache folder or file others could have written; nothing is loaded from it."""


class RandomWeightsWarning(UserWarning):
    """A network that needs trained weights runs with random ones (a model, or a VGG16 prior)."""
