"""A local fake of OpenAI's POST /v1/audio/transcriptions on a real socket.

It checks the Bearer key and the multipart form (file, model, response_format,
timestamp_granularities[]), refuses files over its size limit with 413, and answers
verbose_json with words and segments. The words are synthetic but tied to the upload:
one word per whole second of the uploaded audio ("tick" at second i starts at i + 0.1),
so a client that splits and re-joins audio can be checked for correct time shifts.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.deepgram import Planned, serve


def _error(status: int, message: str, type_: str, code: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": type_, "param": None, "code": code}},
        status_code=status,
    )


@dataclass
class Upload:
    fields: dict[str, list[str]]
    filename: str
    content_type: str | None
    size: int
    duration: float
    headers: dict[str, str] = field(default_factory=dict)


def _probe_duration(data: bytes) -> float:
    with tempfile.NamedTemporaryFile(suffix=".bin") as fh:
        fh.write(data)
        fh.flush()
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", fh.name],
            capture_output=True,
            text=True,
            check=False,
        )
    try:
        return float(json.loads(out.stdout)["format"]["duration"])
    except (KeyError, ValueError):
        return -1.0


class FakeOpenAIAudio:
    def __init__(self, api_key: str = "sk-test", max_bytes: int = 25 * 1024 * 1024) -> None:
        self.api_key = api_key
        self.max_bytes = max_bytes
        self.planned: list[Planned] = []
        self.uploads: list[Upload] = []
        self.app = Starlette(
            routes=[Route("/v1/audio/transcriptions", self.transcriptions, methods=["POST"])]
        )

    def fail_next(
        self,
        status: int,
        *,
        retry_after: str | None = None,
        code: str | None = None,
        times: int = 1,
    ) -> None:
        types = {401: "invalid_request_error", 429: "requests", 500: "server_error"}
        body = {
            "error": {
                "message": f"scripted failure {status}",
                "type": "insufficient_quota"
                if code == "insufficient_quota"
                else types.get(status, "invalid_request_error"),
                "param": None,
                "code": code,
            }
        }
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.planned += [Planned(status, body, headers) for _ in range(times)]

    @contextmanager
    def running(self) -> Iterator[str]:
        with serve(self.app) as url:
            yield url

    async def transcriptions(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(
                401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        if self.planned:
            p = self.planned.pop(0)
            return JSONResponse(p.body, status_code=p.status, headers=p.headers)
        form = await request.form(max_part_size=64 * 1024 * 1024)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _error(400, "you must provide a file", "invalid_request_error")
        data = await upload.read()
        fields: dict[str, list[str]] = {}
        for k, v in form.multi_items():
            if isinstance(v, str):
                fields.setdefault(k, []).append(v)
        if len(data) > self.max_bytes:
            return _error(
                413,
                f"Maximum content size limit ({self.max_bytes}) exceeded ({len(data)} bytes read)",
                "server_error",
            )
        if fields.get("model") != ["whisper-1"]:
            return _error(400, "invalid model", "invalid_request_error", "model_not_found")
        if fields.get("response_format") != ["verbose_json"]:
            return _error(400, "expected verbose_json", "invalid_request_error")
        duration = _probe_duration(data)
        if duration < 0:
            return _error(400, "Invalid file format.", "invalid_request_error")
        self.uploads.append(
            Upload(
                fields,
                upload.filename or "",
                upload.content_type,
                len(data),
                duration,
                dict(request.headers),
            )
        )
        return JSONResponse(self._verbose(fields, duration))

    def _verbose(self, fields: dict[str, list[str]], duration: float) -> dict[str, Any]:
        granularities = fields.get("timestamp_granularities[]", ["segment"])
        n = int(duration)
        words = [{"word": "tick", "start": i + 0.1, "end": i + 0.5} for i in range(n)]
        segments = []
        for s in range(0, n, 5):
            group = words[s : s + 5]
            segments.append(
                {
                    "id": len(segments),
                    "seek": 0,
                    "start": float(s),
                    "end": min(float(s + 5), duration),
                    "text": " "
                    + " ".join("Tick" if j == 0 else "tick" for j in range(len(group)))
                    + ".",
                    "tokens": [1, 2, 3],
                    "temperature": 0.0,
                    "avg_logprob": -0.2,
                    "compression_ratio": 1.1,
                    "no_speech_prob": 0.01,
                }
            )
        out: dict[str, Any] = {
            "task": "transcribe",
            "language": "english",
            "duration": duration,
            "text": " ".join(s["text"].strip() for s in segments),  # type: ignore[union-attr]
        }
        if "word" in granularities:
            out["words"] = words
        if "segment" in granularities:
            out["segments"] = segments
        return out
