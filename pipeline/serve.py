"""HTTP service over a loaded Predictor: ``POST /predict``, ``GET /health``, OpenAPI at ``/openapi.json``.

Bad input is the client's problem, so it always gets a 4xx with a JSON body ``{"error": "..."}``, never a 500:
400 unreadable body (not UTF-8, not JSON), 413 body over ``max_body_bytes`` (default 1 MB), 415 unsupported
content type, 422 a body that is JSON but not a record, a list of records or a text (``PredictionError``).
The body is read as a stream and refused as soon as it passes the limit, so a huge upload never sits in memory.
Predictions run in the server's thread pool; the Predictor is thread-safe.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.predict import MAX_CHARS, PredictionError, Predictor, load

MAX_BODY_BYTES = 1_000_000
MAX_BATCH = 1_000
JSON_TYPES = ("application/json",)
TEXT_TYPES = ("text/plain",)
log = logging.getLogger("pipeline.serve")


class ClientError(Exception):
    """A request the service refuses; becomes ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# --- OpenAPI description (documentation only: the body is read and checked by hand, see _parse_body) -------------
class PredictionOut(BaseModel):
    outcome: str = Field(description="predicted class: not_investigated, no_fault, remedy_adequate or fault_found")
    probabilities: dict[str, float] = Field(description="calibrated probability of every class (0.0 if unseen)")
    features: dict[str, list[dict[str, Any]]] = Field(
        description='{"remedies": [{type, status, amount_gbp?, start, end, sentence}], '
                    '"reasons": [{type, start, end, sentence}]}, found in the view text only')
    evidence: list[dict[str, Any]] = Field(
        description="phrases ({kind: ngram, ngram, ngrams, start, end, sentence, weight}) and extracted features "
                    "({kind: feature, feature, sentence, weight}) that pushed the predicted class most")
    needs_review: bool = Field(description="top probability under the model's review threshold: a person should check")


class HealthOut(BaseModel):
    status: str
    model_version: str
    view: str
    view_sections: list[str]
    classes: list[str]
    trained_classes: list[str]
    review_threshold: float
    package_version: str | None
    max_chars: int
    max_body_bytes: int
    max_batch: int


class ErrorOut(BaseModel):
    error: str


RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A complaint or decision record (contract fields). The triage view reads only `complaint`; "
                   "the decision view reads `text` (a whole page) or summary + complaint + assessment.",
    "properties": {name: {"type": "string"} for name in ("text", "complaint", "summary", "assessment", "id",
                                                         "authority", "category", "subcategory")},
    "example": {"complaint": "Mr X complained the Council did not repair the damp in his flat for a year."},
}
REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": f"One record, a list of up to {MAX_BATCH} records, or a text (a JSON string or a text/plain "
                   f"body). At most {MAX_BODY_BYTES:,} bytes; a text at most {MAX_CHARS:,} characters.",
    "content": {
        "application/json": {"schema": {"oneOf": [
            RECORD_SCHEMA, {"type": "array", "items": {"oneOf": [RECORD_SCHEMA, {"type": "string"}]}},
            {"type": "string"}]}},
        "text/plain": {"schema": {"type": "string"}},
    },
}
ERRORS = {status: {"model": ErrorOut, "description": meaning} for status, meaning in {
    400: "body is not UTF-8 or not JSON", 413: "body too large", 415: "unsupported content type",
    422: "not a record, a list of records or a text; or a record the model's view cannot read",
}.items()}


# --- the app ------------------------------------------------------------------------------------------------------
def create_app(predictor: Predictor, *, max_body_bytes: int = MAX_BODY_BYTES, max_batch: int = MAX_BATCH) -> FastAPI:
    """The service for one loaded model."""
    app = FastAPI(
        title="complaint-outcomes",
        version=str(predictor.metadata.get("package_version") or ""),
        description=f"Predicts the outcome of an LGSCO complaint ({predictor.view} view, model {predictor.version}) "
                    "and extracts remedy features. Errors are JSON: {\"error\": \"...\"}.",
    )

    @app.get("/health", response_model=HealthOut, summary="model version, view and classes")
    def health() -> dict[str, Any]:
        return {"status": "ok", **predictor.info(), "max_body_bytes": max_body_bytes, "max_batch": max_batch}

    @app.post("/predict", summary="predict one record, a list of records, or a text",
              response_description="one prediction, or a list of predictions for a list",
              responses={200: {"model": PredictionOut | list[PredictionOut]}, **ERRORS},
              openapi_extra={"requestBody": REQUEST_BODY})
    async def predict(request: Request) -> JSONResponse:
        payload = _parse_body(await _read_body(request, max_body_bytes), request.headers.get("content-type"))
        if isinstance(payload, list) and len(payload) > max_batch:
            raise ClientError(422, f"a list may hold at most {max_batch} records, got {len(payload)}")
        try:
            result = await run_in_threadpool(_predict, predictor, payload)
        except PredictionError as exc:
            raise ClientError(422, str(exc)) from None
        return JSONResponse(result)

    _add_error_handlers(app)
    return app


def _predict(predictor: Predictor, payload: Any) -> Any:
    if isinstance(payload, list):
        return [p.to_dict() for p in predictor.predict_many(payload)]
    return predictor.predict(payload).to_dict()


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) as soon as it is known or seen to be over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ClientError(400, f"invalid Content-Length {declared!r}")
        if int(declared) > limit:
            raise ClientError(413, f"body is {int(declared):,} bytes; the limit is {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ClientError(413, f"body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_body(body: bytes, content_type: str | None) -> Any:
    """JSON (a record, a list, or a string) or plain text; ClientError for anything unreadable."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media not in JSON_TYPES + TEXT_TYPES and not media.endswith("+json"):
        raise ClientError(415, f"unsupported content type {media!r}; send application/json or text/plain")
    if not body.strip():
        raise ClientError(422, "empty body; send a JSON record, a list of records, or a text")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClientError(400, f"body is not valid UTF-8 (byte {exc.start})") from None
    if media in TEXT_TYPES:
        return text
    try:
        payload = json.loads(text)
    except RecursionError:
        raise ClientError(400, "body is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise ClientError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, (dict, list, str)):
        kind = "null" if payload is None else type(payload).__name__
        raise ClientError(422, f"expected a JSON object (record), a list of records or a string, got {kind}")
    return payload


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is JSON ``{"error": ...}``; only a real server fault is a 500."""

    @app.exception_handler(ClientError)
    async def client_error(request: Request, exc: ClientError) -> JSONResponse:
        # a refused upload may still be arriving: close the connection rather than read the rest
        headers = {"Connection": "close"} if exc.status == 413 else None
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid request", "detail": json.loads(json.dumps(exc.errors(), default=str))},
                            status_code=422)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)


# --- running ------------------------------------------------------------------------------------------------------
def run(model_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, **uvicorn_options: Any) -> None:
    """Load the model (verified) and serve it with uvicorn until interrupted."""
    import uvicorn

    app = create_app(load(model_dir))
    uvicorn.run(app, host=host, port=port, **{"log_level": "info", **uvicorn_options})


__all__ = ["MAX_BATCH", "MAX_BODY_BYTES", "ClientError", "create_app", "run"]
