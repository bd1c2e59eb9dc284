"""Shipped recipes validate, encode the paper decisions, and run end to end on tiny data."""

import pytest
import torch

from lle_core.engine import load_run_config, train
from lle_core.errors import ConfigError
from lle_core.io import write_image

RECIPES = ["paper", "pretrain_synthetic", "finetune_lol", "circle"]


def _photo(h, w, seed):
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return (0.6 * torch.stack([yy, xx, 1 - yy]) + 0.4 * torch.rand(3, h, w, generator=g)).clamp(
        0, 1)


@pytest.fixture
def folders(tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    for sub in ("low", "high"):
        (tmp_path / "paired" / sub).mkdir(parents=True)
    for i in range(3):
        img = _photo(36, 44, i)
        write_image(clean / f"c{i}.png", img)
        write_image(tmp_path / "paired" / "high" / f"p{i}.png", img)
        write_image(tmp_path / "paired" / "low" / f"p{i}.png", img * 0.2)
    return {"clean": clean, "paired": tmp_path / "paired"}


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_validates_with_paper_settings(recipe, folders):
    data = folders["paired"] if recipe == "finetune_lol" else folders["clean"]
    cfg = load_run_config(f"dln:{recipe}", data_dir=data)
    assert cfg.model_spec.name == "dln.model"
    assert cfg.optim.name == "adam" and cfg.optim.lr == pytest.approx(1e-4)
    assert tuple(cfg.optim.betas) == (0.9, 0.999)
    assert cfg.data.batch_size == 32 and cfg.data.train.params.crop == 128
    assert cfg.schedule.name == "multistep" and cfg.schedule.milestones == [333]
    assert cfg.schedule.gamma == pytest.approx(0.1) and cfg.budget.epochs == 500
    terms = {t.name: t.params for t in cfg.loss.params.terms}
    assert terms["core.tv"].weight == pytest.approx(0.001) and terms["core.tv"].mode == "l2_dln"
    assert terms["core.ssim"].padding == "valid"


def test_paper_recipe_is_the_pretraining_stage(folders):
    paper = load_run_config("dln:paper", data_dir=folders["clean"]).to_dict()
    pretrain = load_run_config("dln:pretrain_synthetic", data_dir=folders["clean"]).to_dict()
    assert paper == pretrain


def _tiny(stage_overrides):
    return ["model.dim=8", "data.batch_size=2", "data.num_workers=0", "budget.epochs=null",
            "budget.steps=3", "train.device=cpu", *stage_overrides]


def test_pretrain_then_finetune_end_to_end(folders, tmp_path):
    pre_cfg = load_run_config("dln:pretrain_synthetic", data_dir=folders["clean"], overrides=_tiny(
        ["data.train.crop=16", "data.train.short_side=24", "train.ckpt_every=null"]))
    pre = train(pre_cfg, out_dir=tmp_path / "pre", progress=False)
    ckpt = pre.checkpoint
    assert ckpt is not None
    ft_cfg = load_run_config("dln:finetune_lol", data_dir=folders["paired"], overrides=_tiny(
        ["data.train.crop=16", f"trainer.init={ckpt}"]))
    ft = train(ft_cfg, out_dir=tmp_path / "ft", progress=False)
    assert ft.steps == 3 and ft.latest_checkpoint is not None
    # fine-tuning started from the pretraining weights, not from a fresh init
    from lle_core import create
    from lle_core.checkpoint import read_checkpoint
    from lle_dln.finetune import load_init_weights

    pretrained, _ = read_checkpoint(ckpt)
    start = create("model", {"type": "dln.model", "dim": 8})
    load_init_weights(start, ckpt)
    state = start.state_dict()
    assert all(torch.equal(state[k], v) for k, v in pretrained.items())
    finetuned, _ = read_checkpoint(ft.latest_checkpoint)
    assert any(not torch.equal(finetuned[k], v) for k, v in pretrained.items())  # it trained


def test_finetune_init_errors_name_the_key(folders, tmp_path):
    cfg = load_run_config("dln:finetune_lol", data_dir=folders["paired"], overrides=_tiny(
        ["data.train.crop=16", f"trainer.init={tmp_path / 'missing.safetensors'}"]))
    with pytest.raises(ConfigError, match=r"trainer\.init"):
        train(cfg, out_dir=tmp_path / "ft", progress=False)


def test_finetune_and_circle_load_init_weights(tmp_path):
    from lle_core import create
    from lle_core.checkpoint import save_weights

    source = create("model", {"type": "dln.model", "dim": 8})
    path = save_weights(tmp_path / "pre.safetensors", source)
    for name in ("dln.finetune", "dln.circle"):
        target = create("model", {"type": "dln.model", "dim": 8})
        assert not torch.equal(target.to_residual.weight, source.to_residual.weight)
        trainer = create("trainer", {"type": name, "init": str(path)},
                         runtime={"model": target, "loss": None})
        for (k, a), b in zip(source.state_dict().items(), target.state_dict().values(),
                             strict=True):
            assert torch.equal(a, b), k
        if name == "dln.circle":  # the darkening model starts fresh
            assert not torch.equal(trainer.darken.to_residual.weight, source.to_residual.weight)
    wrong = create("model", {"type": "dln.model", "dim": 4})
    with pytest.raises(ConfigError, match=r"trainer\.init"):
        create("trainer", {"type": "dln.finetune", "init": str(path)},
               runtime={"model": wrong, "loss": None})
