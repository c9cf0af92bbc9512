"""``latte train``: data-parallel training on an existing engine, locally or as a Kubeflow
Trainer ``TrainJob``.

Locally, :mod:`latte.train.launch` starts ``torchrun`` (digits) or one process per worker with
``TF_CONFIG`` (tumor) around ``python -m latte_models train``; the chief's build is then
registered like ``latte build``'s. :mod:`latte.train.jobs` writes the same command into a
``TrainJob`` for a cluster. The platform never imports torch or tensorflow.
"""

from __future__ import annotations

from latte.train.errors import TrainError
from latte.train.jobs import JobRequest, render_job
from latte.train.launch import LaunchRequest, launch_command, run_local

__all__ = ["JobRequest", "LaunchRequest", "TrainError", "launch_command", "render_job", "run_local"]
