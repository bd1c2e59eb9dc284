"""``lle_core.create``: build a registered component by name or spec, trained weights included.

It sits in the model-state layer (docs/architecture.md), above :mod:`lle_core.spec` (which
validates and builds) and :mod:`lle_core.weight_sets` (shipped weight sets), so that the kernel
never reaches up for weights.

Example:
    >>> from lle_core import create
    >>> fuse = create("fusion", "core.add", channels=8)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lle_core.errors import ConfigError
from lle_core.spec import parse_spec
from lle_core.weight_sets import load_pretrained


def create(
    kind: str,
    name_or_spec: Any,
    /,
    *,
    runtime: Mapping[str, Any] | None = None,
    pretrained: bool | str = False,
    **params: Any,
) -> Any:
    """Validate a spec and build the component.

    Args:
        kind: Registry kind (``"model"``, ``"fusion"``, ...).
        name_or_spec: Name, mapping with ``type``, YAML/JSON file path or :class:`ComponentSpec`.
        runtime: Keyword arguments passed to the factory unvalidated (e.g. ``channels`` for
            fusion ops, ``model`` for trainers).
        pretrained: Models only: ``True`` loads the model's shipped weights (its first
            registered weight set, see :mod:`lle_core.weight_sets` and ``lle weights``), a string
            names the set (``"neid.lol"``). The file's SHA-256 is checked first. Parameters
            may only change inference options of the trained architecture.
        **params: Parameters overriding those of the spec (validated).

    Returns:
        The built component (for ``pretrained``: in eval mode with the weights loaded).

    Raises:
        WeightsError: ``pretrained`` for a model without shipped weights, a checksum
            mismatch, or parameters that change the trained architecture.
    """
    spec = parse_spec(kind, name_or_spec, overrides=params)
    if pretrained:
        if kind != "model":
            raise ConfigError([("pretrained", f"only models have pretrained weights, not {kind}")])
        return load_pretrained(spec, pretrained)
    return spec.build(**dict(runtime or {}))
