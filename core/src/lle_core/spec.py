"""Component specs: validated descriptions of what to build, and the builders.

A spec is a component name, or a mapping with a ``type`` key and parameters::

    {"type": "hf2.model", "fusion": {"type": "neid.channel_ff"}, "base_width": 32}

Specs are validated by the entry's pydantic parameter model *before anything is
constructed*; unknown keys are rejected with their dotted path (``model.fusion.gate``).
Nested specs are declared in a parameter model with :func:`SpecOf` and validated recursively;
a factory receives them as :class:`ComponentSpec` objects and builds them when it needs to
(possibly several times, e.g. one fusion per U-Net level with its own ``channels``).

Users build components with :func:`lle_core.create` (:mod:`lle_core.factory`, which adds
shipped weights on top of this module).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from lle_core.errors import ConfigError, ShapeError
from lle_core.registry import Entry, registries


@dataclass(frozen=True)
class ComponentSpec:
    """A validated spec: registry kind, canonical name and validated parameters.

    Attributes:
        kind: Registry kind.
        name: Canonical component name.
        params: Instance of the entry's parameter model.
    """

    kind: str
    name: str
    params: BaseModel

    @property
    def entry(self) -> Entry:
        """The registry entry this spec builds."""
        return registries()[self.kind].get(self.name)

    def build(self, **runtime: Any) -> Any:
        """Construct the component.

        Args:
            **runtime: Keyword arguments supplied by the caller rather than the config,
                e.g. ``channels=`` for fusion ops or ``model=``/``loss=`` for trainers.

        Returns:
            The constructed component; objects that accept attributes get ``lle_spec``.
        """
        entry = self.entry
        channels = runtime.get("channels")
        if (
            self.kind == "fusion"
            and isinstance(channels, int)
            and channels < entry.capabilities.min_channels
        ):
            raise ShapeError(
                f"fusion {self.name!r} needs at least {entry.capabilities.min_channels} "
                f"channels, but the host model builds it with {channels}"
            )
        factory = entry.resolve_factory()
        kwargs = {name: getattr(self.params, name) for name in type(self.params).model_fields}
        clash = set(kwargs) & set(runtime)
        if clash:
            raise ConfigError(
                [(k, f"given both in the spec and at build time of {self.name}") for k in clash]
            )
        obj = factory(**kwargs, **runtime)
        with contextlib.suppress(AttributeError, TypeError):  # e.g. objects with __slots__
            object.__setattr__(obj, "lle_spec", self)
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (``type`` plus every parameter, defaults included)."""
        data = self.params.model_dump(mode="json")
        return {"type": self.name, **data}

    def replace(self, **params: Any) -> ComponentSpec:
        """A new validated spec with some parameters changed."""
        return parse_spec(self.kind, {**self.to_dict(), **params})

    def __repr__(self) -> str:
        return f"ComponentSpec({self.kind}:{self.to_dict()!r})"


def validation_problems(err: ValidationError, prefix: str) -> list[tuple[str, str]]:
    """``(dotted path, message)`` of each error in ``err``, paths under ``prefix``.

    Nested spec errors are expanded to their own paths (``model.fusion.op``).
    """
    problems: list[tuple[str, str]] = []
    for item in err.errors():
        loc = ".".join(str(p) for p in item["loc"])
        path = ".".join(p for p in (prefix, loc) if p) or "<root>"
        ctx = item.get("ctx") or {}
        nested = ctx.get("problems")
        if item["type"] == "lle_nested_spec" and nested:
            for sub_path, msg in nested:
                sub = sub_path if sub_path != "<root>" else ""
                problems.append((".".join(p for p in (path, sub) if p), msg))
            continue
        msg = item["msg"]
        if item["type"] == "extra_forbidden":
            msg = "unknown key"
            model = ctx.get("model")
            if model:
                msg += f" for {model}"
        problems.append((path, msg))
    return problems


def _split(kind: str, value: Any, path: str) -> tuple[str, dict[str, Any]]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, type):
        return _name_of_class(kind, value, path), {}
    if isinstance(value, Mapping):
        if "type" not in value:
            raise ConfigError([(path or "<root>", f"a {kind} spec needs a 'type' key")])
        data = dict(value)
        type_ = data.pop("type")
        if isinstance(type_, type):
            type_ = _name_of_class(kind, type_, path)
        if not isinstance(type_, str):
            raise ConfigError([(_join(path, "type"), "must be a component name")])
        return type_, data
    raise ConfigError(
        [(path or "<root>", f"expected a {kind} name or a mapping with 'type', got {value!r}")]
    )


def _name_of_class(kind: str, cls: type, path: str) -> str:
    for entry in registries()[kind].entries():
        if entry.factory is cls or (
            isinstance(entry.factory, str)
            and entry.factory == f"{cls.__module__}:{cls.__qualname__}"
        ):
            return entry.name
    raise ConfigError([(path or "<root>", f"class {cls.__qualname__} is not a registered {kind}")])


def _join(a: str, b: str) -> str:
    return f"{a}.{b}" if a else b


def parse_spec(
    kind: str, value: Any, *, path: str = "", overrides: Mapping[str, Any] | None = None
) -> ComponentSpec:
    """Validate a spec (name, mapping, class or :class:`ComponentSpec`) without building it.

    Args:
        kind: Registry kind to look the name up in.
        value: The spec.
        path: Dotted path of the spec inside a larger config (used in error messages).
        overrides: Parameters that replace those of ``value``.

    Raises:
        ComponentNotFoundError: Unknown or ambiguous name.
        ConfigError: Invalid parameters; every problem is listed with its path.
    """
    if isinstance(value, ComponentSpec):
        if value.kind != kind:
            raise ConfigError([(path or "<root>", f"expected a {kind} spec, got {value.kind}")])
        if not overrides:
            return value
        value = value.to_dict()
    if isinstance(value, str | Path) and str(value).endswith((".yaml", ".yml", ".json")):
        value = load_config_file(value)
    name, params = _split(kind, value, path)
    if overrides:
        params.update(overrides)
    entry = registries()[kind].get(name)
    try:
        validated = entry.params.model_validate(params)
    except ValidationError as err:
        raise ConfigError(validation_problems(err, path)) from None
    return ComponentSpec(kind, entry.name, validated)


def _nested_validator(kind: str) -> Any:
    def validate(value: Any) -> ComponentSpec:
        try:
            return parse_spec(kind, value)
        except ConfigError as err:
            raise PydanticCustomError(
                "lle_nested_spec",
                "{summary}",
                {
                    "summary": "; ".join(f"{p}: {m}" for p, m in err.problems),
                    "problems": err.problems,
                },
            ) from None
        except KeyError as err:  # ComponentNotFoundError / AmbiguousNameError
            raise PydanticCustomError(
                "lle_unknown_component", "{summary}", {"summary": str(err)}
            ) from None

    return validate


@dataclass(frozen=True)
class SpecKind:
    """Marker in the metadata of a :func:`SpecOf` annotation: the kind of the nested spec."""

    kind: str


def spec_fields(params: type[BaseModel]) -> dict[str, str]:
    """Fields of a parameter model that hold nested specs, mapped to their kind.

    Example:
        >>> spec_fields(HF2Params)  # doctest: +SKIP
        {'backbone': 'backbone', 'encoder_fusion': 'fusion', 'skip_fusion': 'fusion'}
    """
    out = {}
    for name, info in params.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, SpecKind):
                out[name] = meta.kind
    return out


def SpecOf(kind: str) -> Any:
    """Annotation for a parameter holding a nested spec of ``kind``.

    Example:
        >>> class Params(BaseModel):  # doctest: +SKIP
        ...     fusion: SpecOf("fusion") = "hf2.hf2"
    """
    return Annotated[
        ComponentSpec,
        SpecKind(kind),
        PlainValidator(_nested_validator(kind), json_schema_input_type=Any),
        PlainSerializer(lambda s: s.to_dict(), return_type=dict),
    ]


def build_component(kind: str, value: Any, **runtime: Any) -> Any:
    """Build ``value`` unless it already is a built object (for Python-friendly constructors).

    Strings, mappings and :class:`ComponentSpec` are parsed and built; anything else (an
    ``nn.Module`` a user passed directly) is returned unchanged.
    """
    if isinstance(value, str | Mapping | ComponentSpec):
        return parse_spec(kind, value).build(**runtime)
    return value


def list_components(kind: str | None = None, pattern: str | None = None) -> list[Entry]:
    """Registered entries of one kind (or all kinds) matching a wildcard pattern."""
    regs = registries()
    kinds: Sequence[str] = [kind] if kind else list(regs)
    out: list[Entry] = []
    for k in kinds:
        out.extend(regs[k].list(pattern))
    return out


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON mapping; errors name the file (and line for YAML syntax errors)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError([("<file>", f"config file not found: {p}")], source=str(p))
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        raise ConfigError([("<file>", f"cannot parse: {err}")], source=str(p)) from None
    if not isinstance(data, dict):
        raise ConfigError([("<root>", "the file must hold a mapping")], source=str(p))
    return data
