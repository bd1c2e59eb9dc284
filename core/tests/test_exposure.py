"""Exposure the user chooses (``enhance(..., exposure=EV)``, ``lle enhance --exposure``): a tone
step after the model, or the model's own residual gain where it declares one."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
import torch
from kornia.color import rgb_to_grayscale
from torch import nn

import lle_core
from lle_core.cli.main import main
from lle_core.errors import ConfigError
from lle_core.inference.exposure import KNEE, residual_exposure, tone_exposure
from lle_core.interfaces import Enhancer
from lle_core.io import read_image, write_image
from lle_core.registry import Capabilities


def _lin(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).pow(2.4))


def _image(seed: int = 0, scale: float = 0.3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, 24, 32, generator=g) * scale


def test_tone_step_doubles_linear_light_below_the_knee_and_keeps_colour() -> None:
    y = _image(scale=0.4)  # every linear value far below the knee after one stop
    up = tone_exposure(y, 1.0)
    torch.testing.assert_close(_lin(up), 2.0 * _lin(y), atol=2e-5, rtol=1e-4)
    ratio_in = _lin(y)[:, 0] / _lin(y)[:, 1].clamp_min(1e-6)
    ratio_out = _lin(up)[:, 0] / _lin(up)[:, 1].clamp_min(1e-6)
    mask = _lin(y)[:, 1] > 1e-3
    torch.testing.assert_close(ratio_out[mask], ratio_in[mask], atol=1e-3, rtol=1e-3)
    assert tone_exposure(y, 0.0) is y
    down = tone_exposure(y, -1.0)
    torch.testing.assert_close(_lin(down), 0.5 * _lin(y), atol=2e-5, rtol=1e-4)


def test_tone_step_rolls_highlights_off_instead_of_clipping() -> None:
    bright = torch.tensor([0.7, 0.8, 0.9, 0.95, 1.0]).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    up = tone_exposure(bright.contiguous(), 2.0)
    values = up[0, 0, 0]
    assert float(values.max()) < 1.0  # nothing pushed to white
    assert bool((values[1:] > values[:-1]).all())  # order kept
    assert float(_lin(up).amin()) > KNEE  # all of them went through the shoulder


class _Residual(Enhancer):
    """``y = x + γ·r`` with a fixed residual (declares ``exposure: residual``)."""

    default_capabilities: ClassVar[Capabilities] = Capabilities(
        receptive_field=0, needs_weights=False, exposure="residual")

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(1.5))

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        return (low * self.gain + 0.1).clamp(0, 1)


def test_residual_models_scale_their_residual_to_the_tone_steps_brightness() -> None:
    x = _image(1, 0.2)
    model = _Residual().eval()
    learned = lle_core.enhance(model, x)
    brighter = lle_core.enhance(model, x, exposure=1.0)
    target = tone_exposure(learned, 1.0)
    luma = lambda t: float(rgb_to_grayscale(t).mean())  # noqa: E731
    assert luma(brighter) == pytest.approx(luma(target), abs=2e-3)
    # the same detail, scaled: brighter - x is proportional to learned - x
    gamma = (brighter - x) / (learned - x)
    assert float(gamma.std()) < 1e-4 and float(gamma.mean()) > 1.0
    direct = residual_exposure(x, learned, 1.0)
    torch.testing.assert_close(direct, brighter)
    assert torch.equal(lle_core.enhance(model, x, exposure=0), learned)


def test_every_model_takes_an_exposure_and_darker_is_darker() -> None:
    x = _image(2, 0.25)
    for name in ("core.gamma", "core.identity"):
        mid = lle_core.enhance(name, x)
        lo, hi = (lle_core.enhance(name, x, exposure=e) for e in (-1.0, 1.0))
        assert float(lo.mean()) < float(mid.mean()) < float(hi.mean())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "bright", True, 20])
def test_bad_exposure_is_refused_before_any_work(bad: object) -> None:
    with pytest.raises(ConfigError, match="exposure"):
        lle_core.enhance("core.gamma", _image(), exposure=bad)  # type: ignore[arg-type]


def test_cli_exposure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.png"
    write_image(src, _image(3)[0])
    assert main(["enhance", str(src), "-o", str(tmp_path / "a.png"), "--model", "core.gamma"]) == 0
    assert main(["enhance", str(src), "-o", str(tmp_path / "b.png"), "--model", "core.gamma",
                 "--exposure", "1.5"]) == 0
    assert read_image(tmp_path / "b.png").mean() > read_image(tmp_path / "a.png").mean()
    assert main(["enhance", str(src), "-o", str(tmp_path / "c.png"), "--model", "core.gamma",
                 "--exposure", "nan"]) != 0
    err = capsys.readouterr().err
    assert "--exposure" in err and not (tmp_path / "c.png").exists()


def test_dln_declares_its_brightness_gamma() -> None:
    pytest.importorskip("lle_dln")
    from lle_dln.model import DLN

    assert DLN.default_capabilities.exposure == "residual"
