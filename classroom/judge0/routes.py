"""``/judge0/...``: the Judge0 CE API subset (see :mod:`classroom.judge0.service` for what is served and how
our verdicts map to Judge0's statuses).

Authentication as Judge0's clients send it: ``X-Auth-Token: <API token>`` (or ``Authorization: Bearer``); never
the session cookie. The run's class: :mod:`classroom.runs.owner` (``X-Classroom-Class``, or a student's
class). Errors come in Judge0's shapes — ``422 {field: [messages]}`` for a submission's fields,
``400/401/404/429/503 {error: message}`` otherwise — each also carrying our ``detail``. Limits above our maxima
are clamped and named in the ``X-Classroom-Clamped`` response header.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from classroom.api import MAX_JSON_BYTES, endpoint, parse_json
from classroom.auth.access import run_access
from classroom.auth.service import check_origin, require_user, settings_of, token_user
from classroom.errors import BadRequest, ClassroomError, PayloadTooLarge, RateLimited, Unauthenticated
from classroom.judge0 import schemas, service
from classroom.judge0.schemas import MAX_BATCH, field_errors
from classroom.judge0.service import FieldErrors, Prepared
from classroom.runs.limits import clamped_header
from classroom.runs.owner import class_of_run
from classroom.runs.service import RunService
from classroom.tables import Judge0Submission, Run, User

PREFIX = "/judge0"
WAIT_SLACK_SECONDS = 30.0  # ?wait=true waits this long beyond the wall limit (the queue) before answering
Q_BASE64 = ("base64_encoded", "true: source_code, stdin, expected_output and outputs are base64", False)
Q_FIELDS = ("fields", "Comma-separated attributes to return, or * (default: Judge0's)", False)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "detail": message}, status_code=status, headers=headers)


def judge0_errors(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Our typed errors answered in Judge0's ``{error}`` shape (this API's edge mapping)."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except FieldErrors as exc:
            return JSONResponse(field_errors(exc.errors), status_code=422)
        except NotJson as exc:
            return JSONResponse({"error": "bad_request", "detail": str(exc)}, status_code=400)
        except ClassroomError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
            return _error(exc.status, exc.detail, headers)

    return run


async def judge0_user(request: Request) -> User:
    """The caller: ``X-Auth-Token`` first (Judge0's header), else ``Authorization: Bearer``; no cookies."""
    check_origin(settings_of(request), request)
    token = request.headers.get("x-auth-token")
    if token is not None:
        return await token_user(request, token)
    if request.headers.get("authorization") is not None:
        return await require_user(request)
    raise Unauthenticated("send an API token of this server in X-Auth-Token (POST /api/tokens makes one)")


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def _runs(request: Request) -> RunService:
    runs: RunService = request.app.state.runs
    return runs


async def _body(request: Request) -> Any:
    """The body as strict JSON (:func:`classroom.api.parse_json`). One that is not JSON never reaches Judge0's
    controller either (its framework refuses it with a 400), so it is refused as ours: 400 ``bad_request``."""
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_JSON_BYTES} bytes")
    if not raw:
        return None
    try:
        return parse_json(raw, "body")
    except BadRequest as exc:
        raise NotJson(exc.detail) from None


class NotJson(Exception):
    """A body that is not (strict) JSON: answered ``400 {error: bad_request, detail}``."""


def _fields(request: Request) -> tuple[str, ...]:
    try:
        return service.parse_fields(request.query_params.get("fields"))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


async def _limit(request: Request, user: User, count: int) -> None:
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        from classroom.auth.ratelimit import limits

        for _ in range(count):
            await limiter.hit(limits(settings_of(request))["runs"], str(user.id))


async def _submit(request: Request, user: User, prepared: Prepared, class_id: str | None) -> str:
    """Run one prepared submission as a normal run and record its Judge0 side; returns the token."""
    run_id = uuid.uuid4()
    await _runs(request).submit(
        user_id=str(user.id),
        class_id=class_id,
        files={"main.py": prepared.source_code},
        entry="main.py",
        stdin=prepared.stdin,
        args=prepared.args,
        interactive=False,
        limits=prepared.run_limits(),
        run_id=run_id,
    )
    await (
        Judge0Submission(
            id=run_id,
            run=run_id,
            language_id=schemas.PYTHON_ID,
            expected_output=prepared.expected_output,
            options=prepared.options(),
            callback_url=prepared.callback_url,
            callback_status="pending" if prepared.callback_url else None,
            created_at=datetime.now(UTC),
        )
        .save()
        .run()
    )
    return str(run_id)


async def _load(user: User, tokens: list[str]) -> dict[str, tuple[Run, Judge0Submission]]:
    """The Judge0 submissions among ``tokens`` that ``user`` may see (others are absent, as unknown ones)."""
    ids = [u for u in (service.as_uuid(t) for t in tokens) if u is not None]
    if not ids:
        return {}
    subs = await Judge0Submission.objects().where(Judge0Submission.id.is_in(ids)).run()
    runs = {r.id: r for r in await Run.objects().where(Run.id.is_in([s.id for s in subs])).run()} if subs else {}
    found: dict[str, tuple[Run, Judge0Submission]] = {}
    for sub in subs:
        run = runs.get(sub.id)
        if run is not None and await run_access(user, run):
            found[str(sub.id)] = (run, sub)
    return found


@endpoint(
    "POST",
    PREFIX + "/submissions",
    summary="Judge0: create a submission (a run); ?wait=true answers with the finished submission.",
    tag="judge0",
    doc_body=schemas.SubmissionIn,
    response=schemas.SubmissionOut,
    status=201,
    errors=(400, 413, 422, 429, 503),
    auth="token",
    query=(("wait", "true: answer when the run has finished", False), Q_BASE64, Q_FIELDS),
)
@judge0_errors
async def create_submission(request: Request) -> Response:
    user = await judge0_user(request)
    await _limit(request, user, 1)  # before the body is read: past the limit a body costs no parse
    base64_encoded, wait = _flag(request, "base64_encoded"), _flag(request, "wait")
    fields = _fields(request) if wait else ()
    prepared = service.prepare(await _body(request), base64_encoded=base64_encoded, settings=settings_of(request))
    class_id = await class_of_run(request, user)
    runs = _runs(request)
    runs.require_dispatcher()
    token = await _submit(request, user, prepared, class_id)
    headers = clamped_header(prepared.clamped)
    if not wait:
        return JSONResponse({"token": token}, status_code=201, headers=headers)
    timeout = prepared.wall_time_limit + WAIT_SLACK_SECONDS
    await runs.wait_finished(token, timeout)
    found = await _load(user, [token])
    run, sub = found[token]
    body = service.serialize(run, sub, fields, base64_encoded=base64_encoded)
    return JSONResponse(body, status_code=201, headers=headers)


@endpoint(
    "POST",
    PREFIX + "/submissions/batch",
    summary=f"Judge0: create up to {MAX_BATCH} submissions; answers a token or the errors for each.",
    tag="judge0",
    doc_body=schemas.BatchIn,
    response=schemas.BatchCreatedOut,
    status=201,
    errors=(400, 413, 429, 503),
    auth="token",
    error_bodies=((422, schemas.BatchCreatedOut),),
    query=(Q_BASE64,),
)
@judge0_errors
async def create_batch(request: Request) -> Response:
    user = await judge0_user(request)
    await _limit(request, user, 1)  # the batch's first run, before the body is read (the rest once it is known)
    base64_encoded = _flag(request, "base64_encoded")
    body = await _body(request)
    items = body.get("submissions") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return _error(400, "there should be at least one submission in a batch")
    if len(items) > MAX_BATCH:
        return _error(400, f"number of submissions in a batch should be less than or equal to {MAX_BATCH}")
    settings = settings_of(request)
    prepared: list[Prepared | dict[str, list[str]]] = []
    for item in items:
        try:
            prepared.append(service.prepare(item, base64_encoded=base64_encoded, settings=settings))
        except FieldErrors as exc:
            prepared.append(exc.errors)
    valid = [p for p in prepared if isinstance(p, Prepared)]
    class_id = None
    if valid:
        class_id = await class_of_run(request, user)
        _runs(request).require_dispatcher()
        await _limit(request, user, len(valid) - 1)
    answer: list[dict[str, Any]] = []
    clamped = []
    for p in prepared:
        if isinstance(p, Prepared):
            answer.append({"token": await _submit(request, user, p, class_id)})
            clamped.extend(p.clamped)
        else:
            answer.append(p)  # Judge0's per-item errors, as they are
    return JSONResponse(answer, status_code=201 if valid else 422, headers=clamped_header(clamped))


@endpoint(
    "GET",
    PREFIX + "/submissions/batch",
    summary=f"Judge0: up to {MAX_BATCH} submissions by ?tokens=a,b,c (null for unknown ones).",
    tag="judge0",
    response=schemas.BatchOut,
    errors=(400,),
    auth="token",
    query=(("tokens", "Comma-separated tokens", True), Q_BASE64, Q_FIELDS),
)
@judge0_errors
async def get_batch(request: Request) -> Response:
    user = await judge0_user(request)
    fields = _fields(request)
    try:
        tokens = service.parse_tokens(request.query_params.get("tokens"))
    except ValueError as exc:
        return _error(400, str(exc))
    found = await _load(user, tokens)
    base64_encoded = _flag(request, "base64_encoded")
    out = [service.serialize(*found[t], fields, base64_encoded=base64_encoded) if t in found else None for t in tokens]
    return JSONResponse({"submissions": out})


@endpoint(
    "GET",
    PREFIX + "/submissions/{token}",
    summary="Judge0: one submission by token (the submitter's, or a class instructor's view).",
    tag="judge0",
    response=schemas.SubmissionOut,
    errors=(400, 404),
    auth="token",
    query=(Q_BASE64, Q_FIELDS),
)
@judge0_errors
async def get_submission(request: Request) -> Response:
    user = await judge0_user(request)
    fields = _fields(request)
    token = request.path_params["token"]
    found = await _load(user, [token])
    if token not in found:
        return _error(404, "submission not found")
    return JSONResponse(service.serialize(*found[token], fields, base64_encoded=_flag(request, "base64_encoded")))


def _static(path: str, summary: str, model: type[Any], value: Callable[[Request], Any]) -> Any:
    async def handler(request: Request) -> Response:
        await judge0_user(request)
        return JSONResponse(value(request))

    handler.__name__ = "judge0_" + path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    return endpoint("GET", PREFIX + path, summary=summary, tag="judge0", response=model, auth="token")(
        judge0_errors(handler)
    )


async def _language(request: Request) -> Response:
    await judge0_user(request)
    if request.path_params["language_id"] != str(schemas.PYTHON_ID):
        return _error(404, "language not found")
    return JSONResponse(service.language_detail())


language = endpoint(
    "GET",
    PREFIX + "/languages/{language_id}",
    summary="Judge0: one language (only Python is served).",
    tag="judge0",
    response=schemas.LanguageDetail,
    errors=(404,),
    auth="token",
)(judge0_errors(_language))
languages = _static(
    "/languages", "Judge0: the languages served (Python).", schemas.LanguagesOut, lambda r: service.languages()
)
statuses = _static(
    "/statuses", "Judge0: every status id and description.", schemas.StatusesOut, lambda r: service.statuses()
)
about = _static(
    "/about", "Judge0: the CE API version served, and who maintains it.", schemas.AboutOut, lambda r: service.about()
)
config_info = _static(
    "/config_info",
    "Judge0: limits (our maxima) and switches.",
    schemas.ConfigInfoOut,
    lambda r: service.config_info(settings_of(r)),
)


def routes() -> list[BaseRoute]:
    return [
        create_submission,
        create_batch,
        get_batch,  # before /submissions/{token}: "batch" is not a token
        get_submission,
        languages,
        language,
        statuses,
        about,
        config_info,
    ]
