"""Quality benchmark: train every entry under the same budget, evaluate on held-out pairs.

Training runs through :func:`lle_core.engine.train` with each entry's own recipe (trainer,
losses, optimizer, schedule) and only three things changed: the training data, the budget and
the bench-wide overrides (typically a smaller batch for the CPU). Evaluation uses
:func:`lle_core.evaluation.evaluate` with the fixed protocol, GT-mean variants included, next
to the parameter-free baselines.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lle_core.bench.config import BenchConfig, EntrySpec, StageSpec
from lle_core.engine.plan import Stage, fill_previous, train_stages
from lle_core.errors import ConfigError

#: Dataset types that read a paired folder; their ``root`` is simply re-pointed.
_PAIRED_TYPES = {"core.paired_folder"}
_UNPAIRED_TYPES = {"core.unpaired_folder"}


@dataclass
class DataPlan:
    """Resolved bench data.

    Attributes:
        mode: ``"paired"`` (real pairs) or ``"synthetic"`` (``core.synthetic`` from clean photos).
        train: Paired folder or clean-photo folder for training.
        test: Paired folder (``low/`` + ``high/``) for evaluation.
        seed: Seed of the synthetic training pairs.
    """

    mode: str
    train: Path
    test: Path
    seed: int = 0


@dataclass
class EntryResult:
    """Outcome of one entry: training facts and the evaluation."""

    label: str
    stages: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    train_seconds: float = 0.0
    params: int = 0
    checkpoint: str | None = None
    evaluation: Any = None
    error: str | None = None


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _as_mapping(spec: Any) -> dict[str, Any]:
    if spec is None:
        return {}
    if isinstance(spec, str):
        return {"type": spec}
    return dict(spec)


def retarget_train_data(train: Any, plan: DataPlan) -> dict[str, Any]:
    """Point a recipe's ``data.train`` spec at the bench data, keeping crop and augmentation.

    * real pairs: paired folders get the new ``root``; a low-only folder gets ``root/low``;
      anything else (e.g. ``core.synthetic``) becomes ``core.paired_folder`` with the same crop;
    * synthetic: every training set becomes ``core.synthetic`` over the clean photos (trainers that
      need no ground truth simply ignore ``high``), with the recipe's crop.
    """
    spec = _as_mapping(train)
    type_ = spec.get("type", "core.paired_folder")
    crop = spec.get("crop")
    if plan.mode == "paired":
        if type_ in _PAIRED_TYPES:
            return {**spec, "root": str(plan.train)}
        if type_ in _UNPAIRED_TYPES:
            return {**spec, "root": str(plan.train / "low")}
        return {"type": "core.paired_folder", "root": str(plan.train), "crop": crop,
                "flip": True, "rot90": False}
    synthetic: dict[str, Any] = {"type": "core.synthetic", "root": str(plan.train),
                                 "seed": plan.seed}
    if type_ == "core.synthetic":
        synthetic = {**spec, **synthetic}
    elif crop is not None:
        synthetic["crop"] = crop
    return synthetic


def stage_config(
    stage: StageSpec,
    plan: DataPlan,
    *,
    budget: dict[str, Any],
    overrides: dict[str, Any],
    previous: str | None,
    out_dir: Path,
) -> dict[str, Any]:
    """The run config of one stage, as a validated-ready mapping."""
    from lle_core.engine.config import RECIPE_RE, load_recipe, set_path
    from lle_core.spec import load_config_file

    match = RECIPE_RE.match(stage.config)
    if match and not Path(stage.config).exists():
        data = load_recipe(match["plugin"], match["recipe"])
    else:
        data = load_config_file(stage.config)
    data = copy.deepcopy(data)
    data.setdefault("data", {})
    if stage.retarget:
        data["data"]["train"] = retarget_train_data(_get(data, "data.train"), plan)
    data["data"]["val"] = None
    data["budget"] = dict(budget)
    data.setdefault("train", {})
    data["train"].update({"val_every": None, "ckpt_every": None})
    data["out"] = str(out_dir)
    for key, value in fill_previous({**overrides, **stage.set}, previous).items():
        set_path(data, key, value, source=stage.config)
    return data


def _split_budget(budget: dict[str, Any], shares: list[float]) -> list[dict[str, Any]]:
    total = sum(shares)
    out = []
    for share in shares:
        part: dict[str, Any] = {}
        if budget.get("steps"):
            part["steps"] = max(1, round(budget["steps"] * share / total))
        if budget.get("minutes"):
            part["minutes"] = budget["minutes"] * share / total
        out.append(part)
    return out


def count_parameters(model: Any) -> int:
    """Parameters of the inference model (training-only parts excluded when declared)."""
    export = getattr(model, "export_state_dict", None)
    state = export() if callable(export) else model.state_dict()
    names = {n for n, _ in model.named_parameters()}
    return int(sum(t.numel() for k, t in state.items() if k in names))


def train_entry(
    entry: EntrySpec, cfg: BenchConfig, plan: DataPlan, out: Path, *, progress: bool
) -> EntryResult:
    """Train every stage of an entry; the last stage's checkpoint is the entry's model.

    The stages run through :func:`lle_core.engine.plan.train_stages`, the staged path of
    ``lle train-plan`` too (same ``{previous}`` rule, resume and ``DONE.json``).
    """
    budgets = _split_budget(cfg.budget.model_dump(), [s.share for s in entry.stages])
    stages = []
    for i, (stage, budget) in enumerate(zip(entry.stages, budgets, strict=True)):
        run_dir = out / "runs" / _slug(entry.label) / f"stage{i + 1}"
        stages.append(Stage(stage.config, run_dir,
                            _config_maker(stage, plan, budget, cfg.set, run_dir),
                            {"set": {**cfg.set, **stage.set}, "budget": budget}))
    result = EntryResult(entry.label)
    result.stages = train_stages(stages, progress=progress)
    result.steps = sum(int(r["steps"]) for r in result.stages)
    result.train_seconds = sum(float(r.get("seconds", 0.0)) for r in result.stages)
    result.checkpoint = result.stages[-1]["checkpoint"] if result.stages else None
    return result


def _config_maker(
    stage: StageSpec, plan: DataPlan, budget: dict[str, Any], overrides: dict[str, Any],
    run_dir: Path,
) -> Callable[[str | None], dict[str, Any]]:
    """``previous -> run config`` of one bench stage (see :func:`stage_config`)."""

    def make(previous: str | None) -> dict[str, Any]:
        return stage_config(stage, plan, budget=budget, overrides=overrides,
                            previous=previous, out_dir=run_dir)

    return make


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in label).strip("-").lower()


def synthesize_test_set(clean: Path, out: Path, *, count: int, seed: int) -> Path:
    """Write a fixed paired test set (``out/low``, ``out/high``) from clean photos.

    Uses ``core.synthetic`` on whole images (no crop, no augmentation) with its own seed; the
    same arguments always give the same files.
    """
    from lle_core import create
    from lle_core.io import write_image

    ds = create("dataset", {"type": "core.synthetic", "root": str(clean), "crop": None,
                            "flip": False, "rot180": False, "seed": seed})
    (out / "low").mkdir(parents=True, exist_ok=True)
    (out / "high").mkdir(parents=True, exist_ok=True)
    for index in range(min(count, len(ds))):
        item = ds[index]
        name = Path(str(item["name"])).stem + ".png"
        write_image(out / "low" / name, item["low"])
        write_image(out / "high" / name, item["high"])
    return out


def plan_data(cfg: BenchConfig, out: Path) -> DataPlan:
    """Resolve the data section (synthesising the fixed test set when asked)."""
    d = cfg.data
    for key in ("train", "test", "synthetic_train", "synthetic_test"):
        value = getattr(d, key)
        if value is not None and not Path(value).is_dir():
            raise ConfigError([(f"data.{key}", f"folder not found: {value}")])
    if (
        d.synthetic_train
        and d.synthetic_test
        and Path(d.synthetic_train).resolve() == Path(d.synthetic_test).resolve()
    ):
        raise ConfigError([("data.synthetic_test", "must be another folder than "
                                "data.synthetic_train (train and test images are disjoint)")])
    test = Path(d.test) if d.test else synthesize_test_set(
        Path(d.synthetic_test or ""), out / "synthetic-test", count=d.synthetic_test_count,
        seed=d.synthetic_seed)
    if d.train:
        return DataPlan("paired", Path(d.train), test)
    return DataPlan("synthetic", Path(d.synthetic_train or ""), test, seed=d.synthetic_seed)


def evaluate_entry(result: EntryResult, plan: DataPlan, cfg: BenchConfig) -> None:
    """Evaluate an entry's checkpoint on the test pairs (GT-mean variants included)."""
    from lle_core.checkpoint import load_model
    from lle_core.evaluation import evaluate

    if result.checkpoint is None:
        result.error = "training wrote no checkpoint"
        return
    model = load_model(result.checkpoint)
    result.params = count_parameters(model)
    result.evaluation = evaluate(model, plan.test, gt_mean="both", label=result.label,
                                 max_images=cfg.eval_max_images, weights=None)


def evaluate_baselines(cfg: BenchConfig, plan: DataPlan) -> list[Any]:
    """The parameter-free references on the same test pairs."""
    from lle_core.evaluation import evaluate_baselines as run

    return run(cfg.baselines, plan.test, gt_mean="both", max_images=cfg.eval_max_images)


def photo_panels(cfg: BenchConfig, results: list[EntryResult]) -> dict[str, Any]:
    """The real-photo panel of every trained entry and baseline (``{}`` without photos)."""
    from lle_core import create
    from lle_core.checkpoint import load_model
    from lle_core.evaluation.photo_panel import panel_inputs, run_panel
    from lle_core.inference import enhance

    if cfg.data.photos is None and not cfg.data.photos_clean:
        return {}
    photos, pairs = panel_inputs(cfg.data.photos, cfg.data.photos_clean)
    models = [(r.label, load_model(r.checkpoint)) for r in results if r.checkpoint]
    models += [(name, create("model", name)) for name in cfg.baselines]
    return {label: run_panel(label, functools.partial(enhance, model), photos, pairs).as_record()
            for label, model in models}
