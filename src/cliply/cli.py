"""The `cliply` command: serve, api, worker, process, db, doctor, user, keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cliply import subprocs
from cliply.config import SettingsError, env_markdown, get_settings
from cliply.crypto import CryptoError
from cliply.errors import CliplyError

app = typer.Typer(
    help="Cliply: long videos in, short vertical clips out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database operations.", no_args_is_help=True)
user_app = typer.Typer(help="User administration.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption key operations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(keys_app, name="keys")

Host = Annotated[str | None, typer.Option(help="Bind address (default CLIPLY_HOST).")]
Port = Annotated[int | None, typer.Option(help="Port (default CLIPLY_PORT).")]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _db_url() -> str:
    from cliply.db.engine import database_url

    return database_url()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default head)."""
    from cliply.db.migrate import upgrade

    upgrade(_db_url(), revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' drops everything)."""
    from cliply.db.migrate import downgrade

    downgrade(_db_url(), revision)
    typer.echo(f"database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    from cliply.db.migrate import current

    typer.echo(current(_db_url()) or "(empty)")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL in use (starting the embedded server if needed)."""
    typer.echo(_db_url())


def _bind(host: str | None, port: int | None) -> tuple[str, int]:
    """Flags win over CLIPLY_HOST/CLIPLY_PORT; exported so settings derived from them
    (PUBLIC_BASE_URL's default) and child processes agree."""
    if host:
        os.environ["CLIPLY_HOST"] = host
    if port:
        os.environ["CLIPLY_PORT"] = str(port)
    get_settings.cache_clear()
    s = get_settings()
    return s.cliply_host, s.cliply_port


def _run_api(host: str, port: int) -> None:
    import uvicorn

    from cliply.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_config=None, access_log=False)


@app.command()
def api(host: Host = None, port: Port = None) -> None:
    """Run the HTTP API and dashboard only (no workers)."""
    _run_api(*_bind(host, port))


@app.command()
def serve(
    host: Host = None,
    port: Port = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default SERVE_WORKERS).")
    ] = None,
) -> None:
    """Everything on one machine: migrations, API + dashboard, workers and periodic tasks."""
    from cliply.db.migrate import upgrade

    h, p = _bind(host, port)
    s = get_settings()
    url = _db_url()
    upgrade(url)
    # Children share the (embedded) database through its URL.
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://")}
    # Workers lead their own sessions: a group signal (Ctrl-C, systemctl stop) reaches only
    # serve, which then stops them once, so they get their grace period (a second signal
    # would hurry them); if serve dies without stopping them, they get SIGTERM anyway.
    procs = [
        subprocs.popen(
            [sys.executable, "-m", "cliply", "worker"], env=env, parent_death_signal=signal.SIGTERM
        )
        for _ in range(s.serve_workers if workers is None else workers)
    ]
    typer.echo(f"Cliply on http://{h}:{p}  (API docs: /api/docs, {len(procs)} worker(s))")
    # uvicorn re-raises the stop signal after its graceful shutdown, with the handler that was
    # there before it; a Python handler here turns that into a normal return, so the workers
    # below are stopped too and serve exits 0.
    stop_requested: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stop_requested.append(signum))
    try:
        _run_api(h, p)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=s.worker_shutdown_grace_s + 5)
            except subprocess.TimeoutExpired:
                proc.kill()


@app.command()
def worker(
    kinds: Annotated[
        str | None,
        typer.Option(help="Capabilities or job kinds, comma-separated (default WORKER_KINDS)."),
    ] = None,
    slots: Annotated[
        int | None, typer.Option(help="Concurrent jobs (default WORKER_SLOTS).")
    ] = None,
    scheduler: Annotated[bool, typer.Option(help="Also run periodic tasks.")] = True,
) -> None:
    """Run jobs from the queue until SIGTERM/SIGINT."""
    from cliply.app import install_hooks
    from cliply.jobs.worker import run_worker

    install_hooks()  # importing cliply.app also registers every domain's job handlers

    s = get_settings()
    code = run_worker(
        kinds=kinds or s.worker_kinds, slots=slots or s.worker_slots, with_scheduler=scheduler
    )
    raise typer.Exit(code)


@app.command()
def process(
    source: Annotated[str, typer.Argument(help="A video file or an http(s) URL.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")] = Path(
        "cliply-out"
    ),
    clips: Annotated[int | None, typer.Option(help="How many clips (default CLIP_TOP_K).")] = None,
    aspect: Annotated[str, typer.Option(help="9:16, 1:1 or 16:9.")] = "9:16",
    caption_style: Annotated[
        str | None, typer.Option(help="Caption style name (default CAPTION_STYLE_DEFAULT).")
    ] = None,
    min_s: Annotated[float | None, typer.Option(help="Shortest clip (s).")] = None,
    max_s: Annotated[float | None, typer.Option(help="Longest clip (s).")] = None,
    transcript_only: Annotated[bool, typer.Option(help="Stop after the transcript.")] = False,
    language: Annotated[
        str | None,
        typer.Option(help="Spoken language code (en, es, fr, de, ...); default: detected."),
    ] = None,
    export: Annotated[
        str,
        typer.Option(
            help="Editor files per clip, comma-separated: otio, fcpxml, srt "
            "(source reference, in/out points, crop keyframes)."
        ),
    ] = "",
    layout: Annotated[
        str,
        typer.Option(
            help="Reframe layout: auto (per scene), track, split, screen or fit (forced)."
        ),
    ] = "auto",
    prompt: Annotated[
        str | None,
        typer.Option(
            help='What the clips should be about ("everything about pricing"): ranked by '
            "similarity to it, shown as a reason."
        ),
    ] = None,
    emphasis: Annotated[
        bool, typer.Option(help="Draw each clip's keywords emphasised in the captions.")
    ] = True,
    emoji: Annotated[
        bool, typer.Option(help="Colour emoji over the captions for keywords that have one.")
    ] = True,
    mask_profanity: Annotated[
        bool, typer.Option(help='Star swear words in the captions ("f***").')
    ] = False,
    bleep: Annotated[
        bool, typer.Option(help="Also bleep masked words in the sound (with --mask-profanity).")
    ] = False,
    remove_fillers: Annotated[
        bool, typer.Option(help="Jump cuts: remove filler words (um, uh, ...).")
    ] = False,
    max_silence: Annotated[
        float | None,
        typer.Option(help="Jump cuts: shorten pauses between words longer than this (s)."),
    ] = None,
    brand: Annotated[
        Path | None,
        typer.Option(
            help="Brand kit JSON: the PUT /api/v1/brand fields plus font, logo, intro and "
            "outro file paths (relative to the JSON file)."
        ),
    ] = None,
) -> None:
    """Run the whole pipeline locally on one video: transcript, clips, thumbnails."""
    import shutil
    import tempfile

    from cliply.brand.local import brand_from_file
    from cliply.pipeline.local import run_local

    brand_dir = Path(tempfile.mkdtemp(prefix="cliply-brand-"))
    try:
        kit = brand_from_file(brand, brand_dir) if brand is not None else None
    except CliplyError as exc:
        shutil.rmtree(brand_dir, ignore_errors=True)
        typer.echo(f"error: brand kit: {exc.detail}", err=True)
        raise typer.Exit(2) from None

    try:
        code = run_local(
            source=source,
            out=out,
            top_k=clips,
            aspect=aspect,
            caption_style=caption_style,
            min_s=min_s,
            max_s=max_s,
            transcript_only=transcript_only,
            language=language,
            exports=[f.strip().lower() for f in export.split(",") if f.strip()],
            layout=layout.strip().lower(),
            prompt=prompt,
            fx={
                "keyword_emphasis": emphasis,
                "emoji": emoji,
                "mask_profanity": mask_profanity,
                "bleep": bleep,
                "remove_fillers": remove_fillers,
                "max_silence_s": max_silence,
            },
            brand=kit,
        )
    finally:
        shutil.rmtree(brand_dir, ignore_errors=True)
    raise typer.Exit(code)


@app.command()
def doctor(
    env_md: Annotated[
        bool, typer.Option("--env-md", help="Print ENV.md (generated from settings).")
    ] = False,
) -> None:
    """Check the installation: settings, ffmpeg, database, speech model, storage."""
    if env_md:
        typer.echo(env_markdown(), nl=False)
        return
    from cliply.doctor import run_checks

    ok = run_checks(typer.echo)
    raise typer.Exit(0 if ok else 1)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Email address.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="Password (10+ chars).")
    ],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    workspace: Annotated[
        str | None, typer.Option(help="Also create a workspace with this name.")
    ] = None,
) -> None:
    """Create a user (and optionally a workspace they own)."""
    from pydantic import ValidationError

    from cliply.auth import service as auth_service
    from cliply.auth.schemas import SignupIn
    from cliply.db.engine import owner_session
    from cliply.workspaces import service as ws_service

    try:
        data = SignupIn(email=email, password=password, name=name)
        with owner_session() as db:
            user = auth_service.signup(db, data.email, data.password, data.name)
            typer.echo(f"user {user.id} {user.email}")
            if workspace:
                ws = ws_service.create_workspace(db, user.id, workspace)
                typer.echo(f"workspace {ws.id} {ws.name}")
    except ValidationError as exc:
        _fail("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()))
    except CliplyError as exc:
        _fail(exc.detail)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored token under the newest key (TOKEN_ENCRYPTION_KEYS' first)."""
    from cliply.accounts.rotation import rotate_all

    try:
        n = rotate_all()
    except (CryptoError, CliplyError) as exc:
        _fail(str(exc))
    typer.echo(f"re-encrypted {n} secret(s)")


def main() -> None:
    try:
        get_settings()
    except SettingsError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    app()


if __name__ == "__main__":
    main()
