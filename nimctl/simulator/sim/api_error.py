"""Error answers shaped like vLLM's (the server inside the NIM)."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer shaped like vLLM's (the server inside the NIM)."""

    def __init__(self, status: int, message: str, kind: str = "BadRequestError"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind

    def body(self) -> dict:
        return {"object": "error", "message": self.message, "type": self.kind, "param": None, "code": self.status}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
