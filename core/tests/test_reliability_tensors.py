"""Reliability of the tensor entry points: NaN/Inf, empty, wrong dtype, wrong values.

``lle_core.enhance`` (and so ``lle enhance`` / ``lle eval``) must refuse what no model should
see, with a :class:`TensorError` giving the shape, instead of spreading NaN over a patch
(``core.unet_small``), turning it into 0 (``core.gamma``) or failing deep inside kornia
(``core.clahe``).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lle_core
from lle_core.errors import ConfigError, ShapeError, TensorError
from lle_core.evaluation import evaluate, score_pair
from lle_core.inference import enhance


@pytest.fixture(scope="module")
def unet() -> nn.Module:
    torch.manual_seed(0)
    return lle_core.create("model", "core.unet_small", base_width=4).eval()


def _with(value: float) -> torch.Tensor:
    x = torch.full((3, 24, 24), 0.3)
    x[1, 10, 10] = value
    return x


@pytest.mark.parametrize("model_name", ["core.gamma", "core.clahe", "core.identity"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_input_is_refused_by_baselines(model_name: str, value: float):
    with pytest.raises(TensorError, match=r"\(3, 24, 24\).*(NaN|infinite)"):
        enhance(model_name, _with(value))


def test_one_nan_pixel_never_reaches_a_network(unet: nn.Module):
    with pytest.raises(TensorError, match="1 NaN"):
        enhance(unet, _with(float("nan")).unsqueeze(0))


@pytest.mark.parametrize(
    "shape", [(0, 3, 8, 8), (1, 3, 0, 8), (1, 3, 8, 0), (3, 0, 0)], ids=str
)
def test_empty_batch_or_zero_size_image_is_refused(shape: tuple[int, ...]):
    with pytest.raises(TensorError, match="empty"):
        enhance("core.gamma", torch.zeros(shape))


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.int32])
def test_integer_dtypes_other_than_uint8_are_refused(dtype: torch.dtype):
    with pytest.raises(TensorError, match="dtype"):
        enhance("core.gamma", torch.zeros(3, 4, 4, dtype=dtype))


def test_uint8_and_float64_are_accepted():
    out8 = enhance("core.identity", torch.full((3, 4, 4), 255, dtype=torch.uint8))
    assert torch.allclose(out8, torch.ones(3, 4, 4))
    out64 = enhance("core.identity", torch.full((3, 4, 4), 0.25, dtype=torch.float64))
    assert out64.dtype == torch.float32 and torch.allclose(out64, torch.full((3, 4, 4), 0.25))


def test_out_of_range_and_wrong_shape_are_refused():
    with pytest.raises(TensorError, match=r"\[0, 1\]"):
        enhance("core.gamma", torch.full((3, 4, 4), 2.0))
    with pytest.raises(ShapeError, match=r"\(1, 4, 4\)"):
        enhance("core.gamma", torch.zeros(1, 4, 4))


def test_a_model_producing_nan_is_an_error_not_a_black_patch():
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x.clone()
            y[..., y.shape[-2] // 2, y.shape[-1] // 2] = float("nan")  # inside the image
            return y

    with pytest.raises(TensorError, match="produced 3 NaN"):
        enhance(Broken(), torch.full((3, 8, 8), 0.5))


def test_tiny_and_extreme_aspect_inputs_run(unet: nn.Module):
    for shape in [(1, 3, 1, 1), (1, 3, 1, 300), (1, 3, 257, 2)]:
        x = torch.rand(shape)
        assert enhance(unet, x).shape == shape
        assert enhance("core.gamma", x).shape == shape


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"device": "gpu0"}, "device"),
        ({"dtype": "float16"}, "dtype"),
        ({"dtype": "complex_banana"}, "dtype"),
        ({"overlap": -5}, "overlap"),
    ],
)
def test_unusable_runtime_options_are_config_errors(kwargs: dict, key: str):
    with pytest.raises(ConfigError, match=key):
        enhance("core.gamma", torch.rand(3, 8, 8), **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu_is_a_config_error():
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        enhance("core.gamma", torch.rand(3, 8, 8), device="cuda")


def test_score_pair_refuses_non_finite_ground_truth():
    gt = _with(float("nan"))
    with pytest.raises(TensorError, match="ground truth"):
        score_pair(torch.full((3, 24, 24), 0.3), gt)


def test_evaluate_skips_and_reports_a_bad_pair():
    good = (torch.full((3, 16, 16), 0.2), torch.full((3, 16, 16), 0.3))
    bad = (torch.full((3, 16, 16), 0.2), torch.full((3, 17, 16), 0.3))  # size mismatch
    result = evaluate("core.identity", [good, bad, good], on_error="skip")
    assert [r["name"] for r in result.images] == ["0000", "0002"]
    assert result.failed[0]["name"] == "0001" and "size" in result.failed[0]["error"]
    with pytest.raises(lle_core.DatasetError, match="item 0001"):
        evaluate("core.identity", [good, bad], on_error="raise")
