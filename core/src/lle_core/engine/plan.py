"""Training plans: train a set of models, stage by stage, under one total time budget.

A plan is a YAML file (``lle train-plan PLAN.yaml``)::

    data:                                   # filled into every stage's data section
      train: [../shared/data/lol/train, ../shared/data/lol/train-extra]
      holdout_every: 10                     # every 10th pair validates (checkpoint selection)
    entries:
      - label: neid
        share: 0.3                          # of the plan's total minutes
        stages:
          - config: neid:lol
      - label: frlie
        share: 0.2
        stages:
          - {config: frlie:lol_stage1, share: 0.3}
          - {config: frlie:lol, share: 0.7,
             set: {trainer.stage1_checkpoint: "{previous}"}}

Each stage is an ordinary run (:func:`lle_core.engine.train`) in ``<out>/<label>/<stage>``. Its
recipe's step budget stays; the plan adds a minutes cap (its share of the total), so a plan
stopped early leaves consistent, resumable runs. Running the plan again continues every stage
that its minutes cap stopped (or that was killed) from its ``latest`` checkpoint (exact resume)
and skips stages that reached their recipe's budget; the minutes count across sessions, so a
larger ``total_minutes`` extends the capped stages. ``{previous}`` is the checkpoint the
previous stage's run folder means by lle's one rule
(:func:`lle_core.checkpoint.resolve_weights_path`: best, else latest). The device
(``--device cuda``) applies to every stage; recipes pick their mixed precision with
``train.amp``.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lle_core.checkpoint import resolve_weights_path
from lle_core.errors import ConfigError

DONE = "DONE.json"
#: Placeholder, in a stage's overrides, for the previous stage's checkpoint.
PREVIOUS = "{previous}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanData(_Strict):
    """Data every stage trains and validates on.

    Attributes:
        train: Paired root folder(s) (LOL layout: ``low/`` and ``high/``).
        holdout_every: Every k-th pair (sorted by name) is held out for validation and
            checkpoint selection instead of being trained on (``None``: no validation set).
        val_max_images: Validate on at most this many held-out pairs.
        repeat: Passes over the training pairs per epoch (weights them against
            ``extra_train``).
        extra_train: More dataset specs trained on beside the pairs (e.g. ``core.dark_photos``
            of clean photos); with them a stage trains on ``core.mixed`` of the recipe's own
            training set and these parts, which inherit the recipe's ``crop`` (one batch,
            one size) unless they set their own.
        extra_val: More dataset specs validated on beside the held-out pairs: checkpoints are
            selected on the mean over all of them.
    """

    train: list[str] = Field(min_length=1)
    holdout_every: int | None = Field(10, ge=2)
    val_max_images: int | None = Field(None, ge=1)
    repeat: int = Field(1, ge=1)
    extra_train: list[dict[str, Any]] = Field(default_factory=list)
    extra_val: list[dict[str, Any]] = Field(default_factory=list)


class PlanStage(_Strict):
    """One run of an entry: a recipe and overrides, with its share of the entry's time."""

    config: str
    share: float = Field(1.0, gt=0)
    set: dict[str, Any] = Field(default_factory=dict)


class PlanEntry(_Strict):
    """One model to train: a label (its folder name), its share of the total, its stages."""

    label: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    share: float = Field(1.0, gt=0)
    stages: list[PlanStage] = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict)


class Plan(_Strict):
    """A validated training plan (see the module docstring)."""

    data: PlanData
    entries: list[PlanEntry] = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict)

    @field_validator("entries")
    @classmethod
    def _labels_unique(cls, entries: list[PlanEntry]) -> list[PlanEntry]:
        """Each label once: it names the entry's folder (two would share, and resume, one run)."""
        seen: set[str] = set()
        for entry in entries:
            key = entry.label.lower()  # folder names: one on a case-insensitive file system
            if key in seen:
                raise ValueError(f"label {entry.label!r} is used twice; labels name the run "
                                 "folders and must differ (also in upper/lower case)")
            seen.add(key)
        return entries


def load_plan(source: str | Path | Mapping[str, Any]) -> Plan:
    """Read and validate a plan (YAML file or mapping).

    Raises:
        ConfigError: Unreadable file or invalid plan (dotted key paths in the message).
    """
    from pydantic import ValidationError

    label = str(source) if not isinstance(source, Mapping) else None
    if isinstance(source, Mapping):
        raw: Any = dict(source)
    else:
        try:
            raw = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError([("<file>", f"cannot read plan: {err}")], source=label) from None
    try:
        return Plan.model_validate(raw)
    except ValidationError as err:
        problems = [(".".join(str(p) for p in e["loc"]) or "<plan>", e["msg"])
                    for e in err.errors()]
        raise ConfigError(problems, source=label) from None


def stage_overrides(
    plan: Plan,
    entry: PlanEntry,
    stage: PlanStage,
    *,
    minutes: float,
    previous: str | None,
    device: str | None,
    recipe_train: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The dotted-key overrides that turn a stage's recipe into the plan's run.

    ``recipe_train`` is the recipe's own ``data.train`` spec; it is needed (and read) only
    when the plan has ``extra_train`` parts.
    """
    data = plan.data
    paired: dict[str, Any] = {"root": list(data.train), "holdout_every": data.holdout_every}
    if data.holdout_every is not None:
        paired["part"] = "train"
    out: dict[str, Any] = {} if data.repeat == 1 else {"data.train.repeat": data.repeat}
    if data.extra_train:
        own = {**(recipe_train or {}), **paired, "repeat": data.repeat}
        crop = {"crop": own["crop"]} if own.get("crop") is not None else {}
        out["data.train"] = {"type": "core.mixed",
                             "parts": [own, *({**crop, **x} for x in data.extra_train)]}
    else:
        out.update({f"data.train.{k}": v for k, v in paired.items()})
    held_out = [] if data.holdout_every is None else [
        {"type": "core.paired_folder", **paired, "part": "holdout", "cache": True}]
    val_parts = held_out + list(data.extra_val)
    if val_parts:
        out["data.val"] = val_parts[0] if len(val_parts) == 1 else {
            "type": "core.mixed", "parts": val_parts}
        if data.val_max_images is not None:
            out["data.val_max_images"] = data.val_max_images
    out["budget.minutes"] = round(minutes, 3)
    if device is not None:
        out["train.device"] = device
    for mapping in (plan.set, entry.set, stage.set):
        out.update(fill_previous(mapping, previous))
    return out


def fill_previous(overrides: Mapping[str, Any], previous: str | None) -> dict[str, Any]:
    """``overrides`` with :data:`PREVIOUS` in a string value replaced by ``previous``.

    The one ``{previous}`` rule of staged training (``lle train-plan`` and ``lle bench``):
    ``previous`` is the checkpoint the previous stage's run folder means
    (:func:`lle_core.checkpoint.resolve_weights_path`).

    Raises:
        ConfigError: ``{previous}`` in the first stage (``previous`` is ``None``); names the key.
    """
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, str) and PREVIOUS in value:
            if previous is None:
                raise ConfigError([(key, f"{PREVIOUS} in the first stage of an entry")])
            value = value.replace(PREVIOUS, previous)
        out[key] = value
    return out


def _recipe_train(plan: Plan, stage: PlanStage) -> dict[str, Any] | None:
    """The ``data.train`` spec of a stage's recipe (only read when the plan mixes data)."""
    if not plan.data.extra_train:
        return None
    from lle_core.engine.config import read_config_source

    data, _ = read_config_source(stage.config)
    section = data.get("data")
    train = section.get("train") if isinstance(section, dict) else None
    if isinstance(train, str):
        return {"type": train}
    return dict(train) if isinstance(train, dict) else {"type": "core.paired_folder"}


def _slug(config: str) -> str:
    """Folder-name form of a stage's config: ``neid:lol`` -> ``neid-lol``, a file -> its stem."""
    import re

    name = config if ":" in config and "/" not in config else Path(config).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "stage"


def run_plan(
    plan: Plan | str | Path | Mapping[str, Any],
    *,
    out: str | Path,
    total_minutes: float,
    device: str | None = None,
    only: Sequence[str] = (),
    progress: bool = True,
) -> dict[str, Any]:
    """Train every entry of ``plan`` (or those in ``only``), resuming unfinished stages.

    Args:
        plan: A :class:`Plan`, a YAML file or a mapping.
        out: Folder of the runs (``<out>/<label>/<i>-<recipe>``).
        total_minutes: Wall-clock budget of the whole plan, split by the entries' shares
            (normalised over the selected entries) and then by their stages' shares.
        device: ``auto``/``cpu``/``cuda[:N]`` for every stage (``None``: the recipes' choice).
        only: Labels to train (default: all).
        progress: Show training progress.

    Returns:
        ``{label: {"checkpoint": path of the final stage's best/latest, "stages": [...]}}``.

    Raises:
        ConfigError: Invalid plan, unknown label in ``only``, or an invalid stage config
            (all stages are validated before anything trains).
    """
    from lle_core.engine.config import load_run_config

    plan = plan if isinstance(plan, Plan) else load_plan(plan)
    if total_minutes <= 0:
        raise ConfigError([("total_minutes", f"must be > 0, got {total_minutes}")])
    labels = [e.label for e in plan.entries]
    unknown = [x for x in only if x not in labels]
    if unknown:
        raise ConfigError([("only", f"unknown entries {unknown}; the plan has {labels}")])
    entries = [e for e in plan.entries if not only or e.label in only]
    share_sum = sum(e.share for e in entries)
    root = Path(out)

    jobs: list[tuple[PlanEntry, list[tuple[PlanStage, Path, float]]]] = []
    for entry in entries:
        entry_minutes = total_minutes * entry.share / share_sum
        stage_sum = sum(s.share for s in entry.stages)
        stages = []
        for i, stage in enumerate(entry.stages):
            run_dir = root / entry.label / f"{i + 1}-{_slug(stage.config)}"
            stages.append((stage, run_dir, entry_minutes * stage.share / stage_sum))
            # Validate before anything trains: a typo in the last entry fails at once.
            load_run_config(stage.config, overrides=stage_overrides(
                plan, entry, stage, minutes=1.0, previous="<previous>", device=device,
                recipe_train=_recipe_train(plan, stage)))
        jobs.append((entry, stages))

    summary: dict[str, Any] = {}
    for entry, stages in jobs:
        runs = [
            Stage(stage.config, run_dir, functools.partial(
                _plan_stage_config, plan, entry, stage, minutes, device),
                {"minutes_budget": round(minutes, 3)})
            for stage, run_dir, minutes in stages
        ]
        records = train_stages(runs, progress=progress)
        summary[entry.label] = {"checkpoint": records[-1]["checkpoint"], "stages": records}
    return summary


def _plan_stage_config(
    plan: Plan, entry: PlanEntry, stage: PlanStage, minutes: float, device: str | None,
    previous: str | None,
) -> Any:
    from lle_core.engine.config import load_run_config

    return load_run_config(stage.config, overrides=stage_overrides(
        plan, entry, stage, minutes=minutes, previous=previous, device=device,
        recipe_train=_recipe_train(plan, stage)))


@dataclass(frozen=True)
class Stage:
    """One run of a staged training (see :func:`train_stages`).

    Attributes:
        config: The stage's recipe or config file (recorded).
        run_dir: Its run folder.
        make_config: ``make_config(previous) -> run config`` (a mapping or a
            :class:`~lle_core.engine.config.RunConfig`), given the previous stage's checkpoint
            (``None`` for the first stage); apply :func:`fill_previous` to the overrides.
        record: Extra facts stored in the stage's record (``minutes_budget``...).
    """

    config: str
    run_dir: Path
    make_config: Callable[[str | None], Any]
    record: Mapping[str, Any] = field(default_factory=dict)


def train_stages(stages: Sequence[Stage], *, progress: bool = True) -> list[dict[str, Any]]:
    """Train stages in order, each from the previous one's checkpoint: the one staged path.

    Used by ``lle train-plan`` (:func:`run_plan`) and ``lle bench``. A stage resumes its
    ``latest`` checkpoint (exact resume) and writes ``DONE.json`` once its run's own budget
    is spent (not when a minutes cap stopped it), so a finished stage is skipped next time.
    The checkpoint handed on is the one its run folder means
    (:func:`lle_core.checkpoint.resolve_weights_path`: best, else latest).

    Returns:
        One record per stage: ``config``, ``steps``, ``epochs``, ``stopped_by``,
        ``best_metric``, ``seconds``, the stage's extra ``record``, ``run_dir`` and
        ``checkpoint``.
    """
    from lle_core.engine.loop import train

    previous: str | None = None
    records: list[dict[str, Any]] = []
    for stage in stages:
        done = stage.run_dir / DONE
        if done.is_file():
            record = json.loads(done.read_text(encoding="utf-8"))
        else:
            cfg = stage.make_config(previous)
            start = time.perf_counter()
            result = train(cfg, out_dir=stage.run_dir, resume="auto", progress=progress)
            record = {
                "config": stage.config, "steps": result.steps, "epochs": result.epochs,
                "stopped_by": result.stopped_by, "best_metric": result.best_metric,
                "seconds": round(time.perf_counter() - start, 1), **stage.record,
            }
            if result.stopped_by != "minutes":  # the run's own budget is spent
                _write_json_atomic(done, record)
        previous = str(resolve_weights_path(stage.run_dir))
        records.append({**record, "run_dir": str(stage.run_dir), "checkpoint": previous})
    return records


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    from lle_core.files import atomic_write

    atomic_write(path, json.dumps(data, indent=2).encode("utf-8"))
