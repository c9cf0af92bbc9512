"""Triton helpers: shim an ONNX repository for the python backend, run tritonserver."""

from latte_serving.triton.process import TritonInstall, TritonProcess, find_tritonserver
from latte_serving.triton.shim import shim_repository

__all__ = ["TritonInstall", "TritonProcess", "find_tritonserver", "shim_repository"]
