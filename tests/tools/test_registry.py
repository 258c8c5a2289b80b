"""The tool registry: schemas derived from signatures and docstrings, validated calls, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from csmbench.episodes import Asset, ToolCall
from csmbench.errors import RegistryError, ToolError
from csmbench.tools import REGISTRY, AttachmentId, ToolContext, ToolRegistry, spec_from_function


def scale_length(context: ToolContext, image: AttachmentId, length_px: float,
                 mode: Literal["fast", "exact"] = "fast") -> dict:
    """Convert a length in pixels using an image.

    Args:
        image: Attachment id of the image.
        length_px: Length in pixels, > 0.
        mode: How carefully to work.
    """
    if length_px <= 0:
        raise ToolError(f"length_px must be > 0, got {length_px}")
    return {"bytes": context.path(image).stat().st_size, "length_px": length_px, "mode": mode}


def broken(x: int) -> int:
    """Always fails with a bug.

    Args:
        x: Anything.
    """
    raise ZeroDivisionError("boom")


@pytest.fixture()
def registry() -> ToolRegistry:
    return ToolRegistry([spec_from_function(scale_length), spec_from_function(broken)])


@pytest.fixture()
def context(tmp_path: Path) -> ToolContext:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.png").write_bytes(b"12345")
    asset = Asset(id="img0", kind="image", path="assets/a.png", sha256="0" * 64)
    escape = Asset.model_construct(id="evil", kind="image", path="../../etc/passwd",
                                   sha256="0" * 64, meta={})
    return ToolContext(tmp_path, {"img0": asset, "evil": escape})


def test_schema_is_derived(registry: ToolRegistry) -> None:
    schema = registry.get("scale_length").openai_schema()["function"]
    assert schema["description"].startswith("Convert a length in pixels")
    params = schema["parameters"]
    assert set(params["properties"]) == {"image", "length_px", "mode"}  # context is hidden
    assert params["required"] == ["image", "length_px"]
    assert params["properties"]["mode"]["enum"] == ["fast", "exact"]
    assert params["properties"]["length_px"]["description"] == "Length in pixels, > 0."
    assert registry.get("scale_length").attachment_params == ("image",)


def test_call_runs_with_context(registry: ToolRegistry, context: ToolContext) -> None:
    result = registry.call(ToolCall(name="scale_length",
                                    arguments={"image": "img0", "length_px": 3}), context)
    assert result.ok and result.content == {"bytes": 5, "length_px": 3.0, "mode": "fast"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"image": "img0"}, "length_px: Field required"),
     ({"image": "img0", "length_px": "long"}, "length_px: Input should be a valid number"),
     ({"image": "img0", "length_px": 1, "extra": 1}, "extra: Extra inputs are not permitted"),
     ({"image": "img9", "length_px": 1}, "unknown attachment id 'img9'.*img0"),
     ({"image": "/etc/passwd", "length_px": 1}, "unknown attachment id"),
     ({"image": "evil", "length_px": 1}, "points outside the dataset"),
     ({"image": "img0", "length_px": -1}, "length_px must be > 0")],
    ids=["missing", "wrong-type", "extra", "unknown-id", "path", "escape", "tool-rejects"],
)
def test_bad_calls_become_error_results(registry: ToolRegistry, context: ToolContext,
                                        arguments: dict, message: str) -> None:
    result = registry.call(ToolCall(name="scale_length", arguments=arguments), context)
    assert not result.ok and not result.internal_error
    assert result.error is not None
    assert __import__("re").search(message, result.error), result.error


def test_unknown_tool_suggests(registry: ToolRegistry, context: ToolContext) -> None:
    result = registry.call(ToolCall(name="scale_lenght", arguments={}), context)
    assert not result.ok and "Did you mean 'scale_length'?" in (result.error or "")
    with pytest.raises(RegistryError, match="available: broken, scale_length"):
        registry.get("nope")


def test_bug_is_reported_as_internal(registry: ToolRegistry, context: ToolContext) -> None:
    result = registry.call(ToolCall(name="broken", arguments={"x": 1}), context)
    assert not result.ok and result.internal_error
    assert "csmbench bug" in (result.error or "") and "ZeroDivisionError" in (result.error or "")


def test_undocumented_parameter_is_refused() -> None:
    def undocumented(x: int) -> int:
        """Does things."""
        return x

    with pytest.raises(RegistryError, match="parameter 'x' is not described"):
        spec_from_function(undocumented)


def test_builtin_registry_has_calibration() -> None:
    schema = REGISTRY.get("calibrate_scale_bar").openai_schema()["function"]
    assert schema["parameters"]["required"] == ["image"]


def test_hidden_parameters_are_not_offered(context: ToolContext) -> None:
    def read(name: str, root: str = "/") -> str:
        """Read something.

        Args:
            name: What to read.
            root: Where to read from (Python callers only).
        """
        return root + name

    spec = spec_from_function(read, hidden=("root",))
    assert set(spec.openai_schema()["function"]["parameters"]["properties"]) == {"name"}
    registry = ToolRegistry([spec])
    result = registry.call(ToolCall(name="read", arguments={"name": "x", "root": "/etc/"}), context)
    assert not result.ok and "root: Extra inputs are not permitted" in (result.error or "")
    assert registry.call(ToolCall(name="read", arguments={"name": "x"}), context).content == "/x"
