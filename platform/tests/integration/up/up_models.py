"""Tiny real ONNX models registered as a build would register them (defined in latte.drill)."""

from __future__ import annotations

from latte.drill.models import BODY, CONFIG, scale_tree

__all__ = ["BODY", "CONFIG", "scale_tree"]
