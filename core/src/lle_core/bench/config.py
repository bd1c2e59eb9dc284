"""The benchmark description: what to train, on which data, under which budget.

A bench config is a YAML mapping (see ``docs/benchmarks/*.yaml``)::

    budget: {minutes: 10}          # per entry (split over its stages by ``share``)
    data:
      train: ../shared/data/lol/train      # paired folder (low/ + high/) ...
      test: ../shared/data/lol/test
      # ... or synthetic pairs from clean photos (dln.synthetic, fixed seed, disjoint folders):
      # synthetic_train: ../shared/data/clean/bsds500/train
      # synthetic_test: ../shared/data/clean/kodak
    set: {data.batch_size: 4}      # overrides applied to every run
    entries:
      - {label: AuxNet, config: "auxnet:paper"}
      - label: FRLIE
        stages:
          - {config: "frlie:paper_stage1", share: 0.3}
          - {config: "frlie:paper_stage2", set: {trainer.stage1_checkpoint: "{previous}"}}

Each stage is a run config (a ``plugin:recipe`` or a YAML file) whose data section is pointed
at the bench data, whose budget is replaced by the bench budget, and whose overrides are
applied; ``"{previous}"`` in an override's string value is replaced by the previous stage's
checkpoint. The stages train through :func:`lle_core.engine.plan.train_stages`, the staged path
of ``lle train-plan`` (one ``{previous}`` rule, resume, ``DONE.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lle_core.errors import ConfigError
from lle_core.spec import load_config_file, validation_problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageSpec(_Section):
    """One training run of an entry.

    Attributes:
        config: ``plugin:recipe`` or a run-config file.
        set: Dotted-key overrides (``{"model.base_width": 32}``); ``"{previous}"`` in a
            string value is replaced by the previous stage's checkpoint.
        share: Fraction of the entry's budget this stage gets (shares are normalised).
        retarget: Point the stage's training data at the bench data (default). ``False`` keeps
            the recipe's own dataset (give its ``data.train.root`` in ``set``), e.g. DLN's
            synthetic pre-training on clean photos before fine-tuning on the bench pairs.
    """

    config: str
    set: dict[str, Any] = Field(default_factory=dict)
    share: float = Field(1.0, gt=0)
    retarget: bool = True


class EntrySpec(_Section):
    """A model (or mixed pipeline) to train and evaluate; ``config`` is a one-stage shorthand."""

    label: str
    config: str | None = None
    set: dict[str, Any] = Field(default_factory=dict)
    stages: list[StageSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_form(self) -> EntrySpec:
        if self.config and self.stages:
            raise ValueError("give either 'config' (one stage) or 'stages', not both")
        if not self.config and not self.stages:
            raise ValueError("an entry needs 'config' or 'stages'")
        if self.config:
            self.stages = [StageSpec(config=self.config, set=dict(self.set))]
            self.config = None
            self.set = {}
        return self


class BenchData(_Section):
    """Where the pairs come from: real paired folders, or synthetic pairs from clean photos.

    ``photos`` (a folder of real low-light photo folders, e.g. ``../shared/data/unpaired``) and
    ``photos_clean`` (clean photo folders, darkened with a fixed seed) add the real-photo panel
    (:mod:`lle_core.evaluation.photo_panel`) of every entry and baseline to the report.
    """

    train: str | None = None
    test: str | None = None
    synthetic_train: str | None = None
    synthetic_test: str | None = None
    synthetic_test_count: int = Field(24, ge=1)
    synthetic_seed: int = 1234
    grid: list[str] = Field(default_factory=list)
    grid_max: int = Field(6, ge=1)
    photos: str | None = None
    photos_clean: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> BenchData:
        if (self.train is None) == (self.synthetic_train is None):
            raise ValueError("set exactly one of data.train (paired) and data.synthetic_train")
        if (self.test is None) == (self.synthetic_test is None):
            raise ValueError("set exactly one of data.test (paired) and data.synthetic_test")
        return self


class BenchBudget(_Section):
    """Training budget per entry (stop at whichever comes first)."""

    steps: int | None = Field(None, ge=1)
    minutes: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> BenchBudget:
        if self.steps is None and self.minutes is None:
            raise ValueError("set budget.steps and/or budget.minutes")
        return self


class SpeedSpec(_Section):
    """What the speed section measures."""

    sizes: list[tuple[int, int]] = Field(default_factory=lambda: [(600, 400), (1920, 1080)])
    repeats: int = Field(3, ge=1)
    train_step: bool = True
    train_repeats: int = Field(2, ge=1)


class BenchConfig(_Section):
    """The whole benchmark."""

    entries: list[EntrySpec]
    data: BenchData
    budget: BenchBudget
    set: dict[str, Any] = Field(default_factory=dict)
    baselines: list[str] = Field(
        default_factory=lambda: ["core.identity", "core.gamma", "core.histeq", "core.clahe"]
    )
    speed: SpeedSpec = Field(default_factory=SpeedSpec)
    eval_max_images: int | None = Field(None, ge=1)
    out: str = "bench-out"


def load_bench_config(source: str | Path | dict[str, Any]) -> BenchConfig:
    """Validate a bench config from a YAML/JSON file or a mapping.

    Raises:
        ConfigError: Every problem with its dotted key path.
    """
    label = None
    if isinstance(source, dict):
        data = source
    else:
        label = str(source)
        data = load_config_file(source)
    try:
        return BenchConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(validation_problems(err, ""), source=label) from None
