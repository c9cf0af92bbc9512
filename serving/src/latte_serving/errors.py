"""The root of every error latte_serving raises on purpose.

``ServingError`` subclasses ``latte.errors.LatteError`` only when the platform is installed,
so the gateway image needs no platform package; the message always says what failed, the
value involved and what to do next.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendRejectedError",
    "ConfigFileError",
    "InvalidRequestError",
    "ModelNotFoundError",
    "ServingError",
    "TritonNotInstalledError",
    "TritonStartError",
]


class ServingError(Exception):
    """Something the operator can fix; ``exit_code`` is what the command line returns."""

    exit_code = 1


class ConfigFileError(ServingError):
    """A config.pbtxt, routing file or setting latte_serving cannot use."""

    exit_code = 2


class TritonNotInstalledError(ServingError):
    """The tritonserver binary (from the nvidia-pytriton wheel) is not installed."""


class TritonStartError(ServingError):
    """tritonserver did not become ready."""


class InvalidRequestError(ServingError):
    """A client sent a request the gateway cannot serve (answered with a 4xx)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class ModelNotFoundError(InvalidRequestError):
    """Unknown model or version (HTTP 404)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=404)


class BackendRejectedError(InvalidRequestError):
    """The backend refused the client's data with a 4xx: passed through, never a failure.

    Not a BackendError, so it neither counts as a server error nor makes a canary fall back:
    a client's malformed tensor must not be able to fail a rollout.
    """


class BackendError(ServingError):
    """A backend failed to answer; ``reason`` labels the error metric."""

    def __init__(self, message: str, reason: str = "backend", status_code: int = 502) -> None:
        super().__init__(message)
        self.reason = reason
        self.status_code = status_code
