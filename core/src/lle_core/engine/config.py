"""The run config: one validated description of a training run.

A run config is a mapping (YAML/JSON file, Python dict, or a plugin recipe ``<plugin>:<recipe>``)
with the keys ``model``, ``trainer``, ``loss``, ``data``, ``optim``, ``schedule``, ``budget``,
``train`` and ``out`` (see ``docs/training.md`` for the reference). Everything is validated,
component specs included, *before* anything is built; every problem is reported with its dotted
key path (``model.fusion.op``, ``optim.lr``) in one :class:`~lle_core.errors.ConfigError`.

Example:
    >>> cfg = load_run_config("run.yaml", overrides=["optim.lr=1e-3"], data_dir="data/lol")
    ... # doctest: +SKIP
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lle_core.errors import ConfigError
from lle_core.spec import ComponentSpec, SpecOf, load_config_file, validation_problems

#: Dataset type used when ``--data``/``--val`` fill a config that names none.
DEFAULT_DATASET = "core.paired_folder"

#: ``plugin:recipe`` (a recipe shipped as package data), as opposed to a file path.
RECIPE_RE = re.compile(r"^(?P<plugin>[A-Za-z_][\w-]*):(?P<recipe>[\w.-]+)$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class DataConfig(_Section):
    """``data:`` the datasets and how they are loaded.

    Attributes:
        train: Dataset spec of the training set (e.g. ``{type: core.paired_folder, root: ...}``).
        val: Optional dataset spec of the validation set (full images, no augmentation).
        batch_size: Items per optimizer step *per process* (the global batch under ``torchrun``
            is ``batch_size × world_size``).
        num_workers: DataLoader worker processes (``0``: load in the main process; exact
            resume of random augmentations is guaranteed only with ``0``).
        val_max_images: Validate on at most this many images (``None``: all).
    """

    train: SpecOf("dataset")  # type: ignore[valid-type]
    val: SpecOf("dataset") | None = None  # type: ignore[valid-type]
    batch_size: int = Field(8, ge=1)
    num_workers: int = Field(0, ge=0)
    val_max_images: int | None = Field(None, ge=1)


class OptimConfig(_Section):
    """``optim:`` the optimizer (over :meth:`Trainer.parameters`)."""

    name: Literal["adam", "adamw"] = "adam"
    lr: float = Field(1e-4, gt=0)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = Field(1e-8, gt=0)
    weight_decay: float = Field(0.0, ge=0)


class ScheduleConfig(_Section):
    """``schedule:`` learning-rate schedule, applied per ``interval`` (step or epoch).

    Attributes:
        name: ``constant``; ``step`` (× ``gamma`` every ``step_size``); ``multistep``
            (× ``gamma`` at each of ``milestones``); ``cosine`` (from ``lr`` to ``min_lr``
            over ``t_max``; default: the step or epoch budget).
        warmup: Linear warm-up length (in ``interval`` units) before the schedule starts.
        interval: Whether ``milestones``/``step_size``/``t_max``/``warmup`` count optimizer
            steps or epochs.
    """

    name: Literal["constant", "step", "multistep", "cosine"] = "constant"
    milestones: list[int] = Field(default_factory=list)
    step_size: int | None = Field(None, ge=1)
    gamma: float = Field(0.1, gt=0)
    t_max: int | None = Field(None, ge=1)
    min_lr: float = Field(0.0, ge=0)
    warmup: int = Field(0, ge=0)
    interval: Literal["step", "epoch"] = "step"

    @model_validator(mode="after")
    def _check(self) -> ScheduleConfig:
        if self.name == "step" and self.step_size is None:
            raise ValueError("schedule 'step' needs step_size")
        if self.name == "multistep" and not self.milestones:
            raise ValueError("schedule 'multistep' needs milestones")
        if sorted(self.milestones) != self.milestones:
            raise ValueError("milestones must be increasing")
        return self


class BudgetConfig(_Section):
    """``budget:`` stop at whichever limit is reached first (at least one is required).

    ``minutes`` counts training time over all sessions of a resumed run.
    """

    steps: int | None = Field(None, ge=1)
    epochs: int | None = Field(None, ge=1)
    minutes: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _at_least_one(self) -> BudgetConfig:
        if self.steps is None and self.epochs is None and self.minutes is None:
            raise ValueError("set at least one of budget.steps, budget.epochs, budget.minutes")
        return self


class TrainConfig(_Section):
    """``train:`` loop options.

    Attributes:
        grad_clip: Clip the global gradient L2 norm to this value (``None``: no clipping).
        ema: Decay of an exponential moving average of the inference model's weights
            (e.g. ``0.999``); the average is validated and exported when set.
        amp: Mixed precision: bfloat16 autocast on the CPU and on GPUs with bf16 support,
            float16 (+ grad scaling) on older GPUs; refused unless the model declares the
            dtype in ``capabilities.dtypes``.
        channels_last: Keep the model's weights and the 4-D batch tensors in the channels-last
            memory format (faster convolutions on CPUs through oneDNN; same results up to
            rounding).
        seed: Seed of python, numpy and torch RNGs and of the data order.
        deterministic: ``torch.use_deterministic_algorithms(True)`` for the run.
        log_every: Log (console, ``train.log``, ``metrics.jsonl``) every N steps.
        val_every: Validate every N steps (and at the end); ``None``: only at the end.
        ckpt_every: Save ``latest`` every N steps (and at the end); ``None``: only at the end.
        best_metric: Validation metric that selects the ``best`` checkpoint.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
    """

    grad_clip: float | None = Field(None, gt=0)
    ema: float | None = Field(None, gt=0, lt=1)
    amp: bool = False
    channels_last: bool = False
    seed: int = 0
    deterministic: bool = False
    log_every: int = Field(10, ge=1)
    val_every: int | None = Field(None, ge=1)
    ckpt_every: int | None = Field(None, ge=1)
    best_metric: Literal["psnr", "ssim", "loss"] = "psnr"
    device: str = "auto"


class RunConfig(_Section):
    """A whole training run (see the module docstring)."""

    model: SpecOf("model")  # type: ignore[valid-type]
    trainer: SpecOf("trainer") = "core.supervised"  # type: ignore[valid-type]
    loss: SpecOf("loss") | None = None  # type: ignore[valid-type]
    data: DataConfig
    optim: OptimConfig = Field(default_factory=OptimConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    budget: BudgetConfig
    train: TrainConfig = Field(default_factory=TrainConfig)
    out: str | None = None

    @model_validator(mode="after")
    def _cosine_length(self) -> RunConfig:
        s = self.schedule
        if s.name == "cosine" and s.t_max is None:
            length = self.budget.steps if s.interval == "step" else self.budget.epochs
            if length is None:
                raise ValueError(
                    f"schedule.t_max is required for a cosine schedule per {s.interval} "
                    f"when budget.{s.interval}s is not set"
                )
        return self

    # -- views ----------------------------------------------------------------------------
    @property
    def model_spec(self) -> ComponentSpec:
        """The validated model spec."""
        return self.model

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data (specs with every default filled in)."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        """The resolved config as YAML (what ``config.yaml`` of a run holds)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------


def validate_run_config(data: Mapping[str, Any], *, source: str | None = None) -> RunConfig:
    """Validate a mapping into a :class:`RunConfig`.

    Raises:
        ConfigError: Every problem with its dotted key path (nested specs included).
    """
    if isinstance(data, RunConfig):
        return data
    try:
        return RunConfig.model_validate(dict(data))
    except ValidationError as err:
        problems = []
        for path, msg in validation_problems(err, ""):
            problems.append((path, _hint(path, msg)))
        raise ConfigError(problems, source=source) from None


def _hint(path: str, msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    if path.startswith("data.train.root") and "required" in msg.lower():
        return msg + " (give it with --data DIR or --set data.train.root=DIR)"
    if path == "data" and "required" in msg.lower():
        return msg + " (a `data: {train: ...}` section is needed; --data DIR fills its root)"
    return msg


def read_config_source(
    source: str | Path | Mapping[str, Any] | RunConfig,
) -> tuple[dict[str, Any], str | None]:
    """The unvalidated config a source names, as a fresh dict, and its label for messages.

    Args:
        source: As for :func:`load_run_config`.

    Raises:
        ConfigError: Unreadable file or unknown recipe.
    """
    if isinstance(source, RunConfig):
        return source.to_dict(), None
    if isinstance(source, Mapping):
        return _deep_copy(source), None
    text = str(source)
    match = RECIPE_RE.match(text)
    if match and not Path(text).exists():
        return load_recipe(match["plugin"], match["recipe"]), text
    return load_config_file(text), text


def load_run_config(
    source: str | Path | Mapping[str, Any] | RunConfig,
    *,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    data_dir: str | Path | None = None,
    val_dir: str | Path | None = None,
) -> RunConfig:
    """Load, override and validate a run config.

    Args:
        source: A YAML/JSON file, a mapping, a :class:`RunConfig`, or ``"<plugin>:<recipe>"``
            (package data ``lle_<plugin>/recipes/<recipe>.yaml``).
        overrides: ``"a.b=value"`` strings (values parsed as YAML) or a mapping of dotted keys
            to values, applied before validation.
        data_dir: Fills ``data.train.root`` (``data.train`` defaults to ``core.paired_folder``).
        val_dir: Fills ``data.val.root`` (``data.val`` defaults to the training set's type).

    Returns:
        The validated config.

    Raises:
        ConfigError: Unreadable source, unknown recipe, bad override or invalid config.
    """
    data, label = read_config_source(source)
    for key, value in parse_overrides(overrides):
        set_path(data, key, value, source=label)
    if data_dir is not None:
        section = data.get("data")
        if not isinstance(section, dict) or not section.get("train"):
            set_path(data, "data.train", {"type": DEFAULT_DATASET}, source=label)
        set_path(data, "data.train.root", str(data_dir), source=label)
    if val_dir is not None:
        data_section = data.get("data")
        if not isinstance(data_section, dict) or not data_section.get("val"):
            train = data_section.get("train") if isinstance(data_section, dict) else None
            type_ = train.get("type") if isinstance(train, dict) else train
            set_path(data, "data.val", {"type": type_ or DEFAULT_DATASET}, source=label)
        set_path(data, "data.val.root", str(val_dir), source=label)
    return validate_run_config(data, source=label)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep_copy(v) for v in value]
    return value


def parse_overrides(overrides: Sequence[str] | Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``["a.b=1", "c=x"]`` (``--set``) as ``[("a.b", 1), ("c", "x")]``; values parsed as YAML.

    Raises:
        ConfigError: An item without ``=`` or with a value YAML cannot parse.
    """
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    out = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError([("--set", f"expected key=value, got {item!r}")])
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as err:
            raise ConfigError([(key.strip(), f"cannot parse value {raw!r}: {err}")]) from None
        out.append((key.strip(), value))
    return out


def set_path(data: dict[str, Any], dotted: str, value: Any, *, source: str | None) -> None:
    """Set ``data[a][b]... = value``; a string spec on the way becomes ``{type: ...}``."""
    parts = dotted.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = {}
            node[part] = child
        elif isinstance(child, str):  # "core.paired_folder" -> {"type": "core.paired_folder"}
            child = {"type": child}
            node[part] = child
        elif not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise ConfigError(
                [(dotted, f"cannot set a key below {where!r}, which holds {child!r}")],
                source=source,
            )
        node = child
    node[parts[-1]] = value


# ------------------------------------------------------------------------------------------
# Recipes
# ------------------------------------------------------------------------------------------


def _plugin_package(plugin: str) -> str | None:
    """Top-level import package of a plugin (from its hook module)."""
    from lle_core.plugins import plugin_records

    for record in plugin_records():
        if record.id == plugin:
            return record.module.split(".", 1)[0]
    return None


def available_recipes(plugin: str) -> list[str]:
    """Names of the recipes a plugin ships (empty when it ships none or is not installed)."""
    package = _plugin_package(plugin)
    if package is None:
        return []
    try:
        folder = importlib.resources.files(package) / "recipes"
        return sorted(
            p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml")
        )
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return []


def load_recipe(plugin: str, recipe: str) -> dict[str, Any]:
    """Read the recipe ``lle_<plugin>/recipes/<recipe>.yaml`` shipped by a plugin.

    Raises:
        ConfigError: The plugin is not installed or has no such recipe; the message lists the
            recipes it has.
    """
    where = f"{plugin}:{recipe}"
    package = _plugin_package(plugin)
    if package is None:
        from lle_core.plugins import plugin_records

        known = ", ".join(r.id for r in plugin_records()) or "none"
        raise ConfigError(
            [("<recipe>", f"no installed plugin {plugin!r} (installed: {known})")], source=where
        )
    resource = importlib.resources.files(package) / "recipes" / f"{recipe}.yaml"
    if not resource.is_file():
        names = available_recipes(plugin)
        listing = ", ".join(f"{plugin}:{n}" for n in names) if names else "none"
        raise ConfigError(
            [("<recipe>", f"plugin {plugin!r} has no recipe {recipe!r}; recipes: {listing}")],
            source=where,
        )
    try:
        data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError([("<file>", f"cannot parse: {err}")], source=where) from None
    if not isinstance(data, dict):
        raise ConfigError([("<root>", "the recipe must hold a mapping")], source=where)
    return data
