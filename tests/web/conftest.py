"""Browser tests: Debian's chromium driven by Playwright against a real `cliply serve`.

- `studio` (session): one `cliply serve` on loopback (API + pages + one worker) with its own
  database and data dir, so the per-test TRUNCATE of other tests never touches it.
- `browser` (session): chromium from /usr/bin/chromium (Playwright downloads nothing).
- `page` (per test): a fresh context at 1440x900; any console error or page error fails the
  test at teardown. `studio_user` gives a signed-in page (new user + workspace).
- `check_page(page, name)`: axe-core (0 serious/critical), screenshots at 390x844 and
  1440x900 under cliply-out/screenshots/, and the gzipped JS+CSS weight (< 250 KB), printed.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "src" / "cliply" / "web" / "static" / "dist"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CLIPLY_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "cliply-out" / "screenshots"
WEIGHTS: dict[str, int] = {}
MAX_WEIGHT = 250 * 1024


def _missing_prereq() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (make setup installs Debian's chromium)"
    if not (DIST / "app.js").exists():
        return "the front end is not built (make setup runs npm ci && npm run build)"
    if not AXE.exists():
        return "node_modules/axe-core is missing (npm ci)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (dev group)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    why = _missing_prereq()
    if why is None:
        return
    # In CI a missing browser is a failure, not a silent skip.
    marker = pytest.mark.skip(reason=why) if not os.environ.get("CI") else None
    for item in items:
        if "tests/web/" in str(item.fspath) and marker is not None:
            item.add_marker(marker)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Studio:
    base_url: str
    data_dir: Path
    db_url: str
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def mails(self) -> list[str]:
        folder = self.data_dir / "mail"
        if not folder.exists():
            return []
        import email
        from email import policy

        out = []
        for p in sorted(folder.glob("*.eml")):
            msg = email.message_from_bytes(p.read_bytes(), policy=policy.default)
            body = msg.get_body(("plain",))
            out.append(f"To: {msg['To']}\nSubject: {msg['Subject']}\n\n" + body.get_content())
        return out

    def sql(self, query: str, **params: Any) -> list[Any]:
        from sqlalchemy import create_engine, pool, text

        eng = create_engine(self.db_url, poolclass=pool.NullPool)
        try:
            with eng.begin() as conn:
                res = conn.execute(text(query), params)
                return list(res.all()) if res.returns_rows else []
        finally:
            eng.dispose()


def _create_database(pg_server_url: str, name: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(pg_server_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


STRIPE_KEY = "sk_test_studio"


@pytest.fixture(scope="session")
def fake_stripe() -> Iterator[Any]:
    """Stripe's API faked on 127.0.0.1 (tests/fakes/stripe.py) for checkout and portal."""
    from tests.fakes.server import serve
    from tests.fakes.stripe import FakeStripe

    fake = FakeStripe(api_key=STRIPE_KEY)
    with serve(fake.app) as server:
        fake.base_url = server.base_url
        yield fake


@dataclass
class PlatformFakes:
    """Fake TikTok and Google/YouTube on loopback, which the Studio server is configured for."""

    tiktok: Any
    google: Any
    env: dict[str, str]


@pytest.fixture(scope="session")
def platform_fakes() -> Iterator[PlatformFakes]:
    from tests.fakes.server import serve
    from tests.fakes.tiktok import FakeTikTok
    from tests.fakes.youtube import FakeYouTube

    tiktok, google = FakeTikTok(), FakeYouTube()
    with serve(tiktok.app) as tt, serve(google.app) as g:
        env = {
            "TIKTOK_CLIENT_KEY": tiktok.config.client_key,
            "TIKTOK_CLIENT_SECRET": tiktok.config.client_secret,
            "TIKTOK_AUTH_BASE": tt.base_url,
            "TIKTOK_API_BASE": tt.base_url,
            "GOOGLE_CLIENT_ID": google.config.client_id,
            "GOOGLE_CLIENT_SECRET": google.config.client_secret,
            "GOOGLE_AUTH_BASE": g.base_url,
            "GOOGLE_TOKEN_BASE": g.base_url,
            "YOUTUBE_API_BASE": g.base_url,
            "YOUTUBE_UPLOAD_BASE": g.base_url,
            "YOUTUBE_ANALYTICS_BASE": g.base_url,
            "YOUTUBE_CHUNK_SIZE": str(256 * 1024),
            "INTEGRATION_RETRY_BASE_S": "0.05",
            "PUBLISH_POLL_INTERVAL_S": "0.2",
        }
        yield PlatformFakes(tiktok=tiktok, google=google, env=env)


@pytest.fixture(scope="session")
def fake_shop() -> Iterator[Any]:
    """A fake Shopify store on 127.0.0.1 (tests/fakes/shopify.py) for the catalog import;
    the Studio server may reach it (URL_INGEST_ALLOW_LOOPBACK, loopback only)."""
    from tests.fakes.server import serve
    from tests.fakes.shopify import FakeShopify, product

    shop = FakeShopify(
        products=[
            product(1, "Bread Knife", price="24.00"),
            product(2, "Proofing Basket", price="18.50"),
            product(3, "Dough Scraper", price="6.00", available=False),
        ]
    )
    with serve(shop.app) as server:
        shop.base_url = server.base_url
        yield shop


@pytest.fixture(scope="session")
def studio_env(
    pg_server_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    fake_stripe: Any,
    platform_fakes: PlatformFakes,
    fake_shop: Any,
) -> dict[str, str]:
    """Environment of the Studio server; tests may add to it before `studio` starts."""
    from cliply.db.migrate import upgrade

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    db_url = _create_database(pg_server_url, f"cliply_studio_{worker}")
    upgrade(db_url)
    port = _free_port()
    # Not under pytest's basetemp: with several pytest sessions on one machine, pytest's
    # cleanup of old basetemps could delete a running server's data dir.
    data = Path(tempfile.mkdtemp(prefix="cliply-studio-"))
    return {
        "DATABASE_URL": db_url.replace("postgresql+psycopg://", "postgresql://"),
        "CLIPLY_DATA_DIR": str(data),
        "CLIPLY_PORT": str(port),
        "CLIPLY_HOST": "127.0.0.1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SERVE_WORKERS": "1",
        "WORKER_SLOTS": "2",
        "WORKER_SHUTDOWN_GRACE_S": "2",
        "JOB_POLL_S": "0.5",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "LOG_JSON": "true",
        "LOG_LEVEL": "INFO",
        "WEB_UPLOAD_CHUNK_BYTES": str(64 * 1024),
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_WEBHOOK_SECRET": "whsec_studio",
        "STRIPE_API_BASE": fake_stripe.base_url,
        "STRIPE_PRICE_BASIC": "",
        "STRIPE_PRICE_PRO": "price_pro",
        "STRIPE_PRICE_PREMIUM": "price_premium",
        "SMTP_HOST": "",
        "URL_INGEST_ALLOW_LOOPBACK": "true",  # the fake Shopify store (and nothing else) is there
        **platform_fakes.env,
    }


@pytest.fixture(scope="session")
def studio(studio_env: dict[str, str]) -> Iterator[Studio]:
    env = {**os.environ, **studio_env}
    data = Path(studio_env["CLIPLY_DATA_DIR"])
    log = data / "serve.log"
    base = studio_env["PUBLIC_BASE_URL"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cliply", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 240  # a loaded 2-core machine starts slowly
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("cliply serve did not start:\n" + log.read_text()[-4000:])
            time.sleep(0.3)
        yield Studio(
            base_url=base,
            data_dir=data,
            db_url=studio_env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"),
            log=log,
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        _print_weights()
        with contextlib.suppress(OSError):  # kept for a failed run's post-mortem
            SHOTS.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(log, SHOTS.parent / "studio-serve.log")
        shutil.rmtree(data, ignore_errors=True)


def _weights_report() -> str:
    lines = ["Studio page weights (JS+CSS each page loads, gzipped; limit 250 KB):"]
    lines += [f"  {name:<28} {size / 1024:7.1f} KB" for name, size in sorted(WEIGHTS.items())]
    return "\n".join(lines)


def _print_weights() -> None:
    if WEIGHTS:
        SHOTS.parent.mkdir(parents=True, exist_ok=True)
        (SHOTS.parent / "page-weights.txt").write_text(_weights_report() + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if WEIGHTS:
        terminalreporter.write_line(_weights_report())


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield b
        b.close()


class ConsoleErrors(list[str]):
    allowed: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.allowed = []

    def allow(self, fragment: str) -> None:
        """Expect console errors containing `fragment` (e.g. a deliberate 402 in a test)."""
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self if not any(a in e for a in self.allowed)]


def new_page(browser: Any, studio: Studio, errors: ConsoleErrors) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=studio.base_url)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.on(
        "console",
        lambda m: errors.append(f"{m.type}: {m.text} @ {page.url}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e} @ {page.url}"))
    page.on("dialog", lambda d: d.accept())
    return ctx, page


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def page(browser: Any, studio: Studio, console_errors: ConsoleErrors) -> Iterator[Any]:
    ctx, pg = new_page(browser, studio, console_errors)
    yield pg
    ctx.close()
    bad = console_errors.unexpected()
    assert not bad, "console errors:\n" + "\n".join(bad)


def sign_up(page: Any, email: str | None = None, workspace: str = "Studio test") -> str:
    email = email or f"u{uuid.uuid4().hex[:10]}@example.com"
    page.goto("/signup")
    page.fill("#f-name", "Test User")
    page.fill("#f-email", email)
    page.fill("#f-password", "correct horse battery")
    page.click("main button[type=submit]")
    page.wait_for_url("**/workspaces/new")
    page.fill("#f-name", workspace)
    page.click("main button[type=submit]")
    page.wait_for_url("**/projects/new")
    return email


@pytest.fixture
def studio_user(page: Any) -> str:
    """A new user with a workspace, signed in on `page`; returns the email."""
    return sign_up(page)


def check_page(page: Any, name: str) -> None:
    """axe-core, screenshots at both sizes and the page's JS+CSS weight."""
    page.wait_for_load_state("load")
    # Through the devtools protocol, which the page's CSP (rightly) does not block.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate("() => {" + AXE.read_text() + "\n}")
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not serious, f"axe violations on {name}: {json.dumps(serious, indent=1)}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for w, h in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(100)
        page.screenshot(path=str(SHOTS / f"{name}-{w}x{h}.png"), full_page=False)
        # No horizontal scrolling at phone size: the page fits.
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 1:  # measured again once layout has settled after the resize
            page.wait_for_timeout(500)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
        if overflow > 1:
            culprits = page.evaluate(
                """() => { const W = document.documentElement.clientWidth;
                  return [...document.querySelectorAll('body *')].filter(e => {
                    const r = e.getBoundingClientRect();
                    return r.right > W + 1 && getComputedStyle(e).position === 'absolute';
                  }).concat([...document.querySelectorAll('body *')].filter(
                    e => e.getBoundingClientRect().right > W + 1)).slice(0, 8).map(e => e.tagName + '#' + e.id + '.' +
                    e.className + ' ' + Math.round(e.getBoundingClientRect().right)); }"""
            )
            raise AssertionError(f"{name} scrolls sideways by {overflow}px at {w}x{h}: {culprits}")
    page.set_viewport_size(size)
    urls = page.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => /\\.(js|css)(\\?|$)/.test(new URL(u).pathname))"
    )
    total = 0
    for u in set(urls):
        path = u.split("/static/dist/", 1)[-1].split("?")[0]
        f = DIST / path
        assert f.is_file(), f"{name} loads {u}, which is not a built asset"
        total += len(gzip.compress(f.read_bytes(), 9))
    WEIGHTS[name] = total
    assert total < MAX_WEIGHT, f"{name} loads {total / 1024:.1f} KB of JS+CSS (gzipped)"


PASSWORD = "correct horse battery"


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("main button[type=submit]")
    page.wait_for_url("**/projects")


def drop_file(page: Any, selector: str, path: Path, mime: str = "video/mp4") -> None:
    """A real drop event on `selector` carrying `path` as a File (what a user's drag does)."""
    import base64

    data = base64.b64encode(path.read_bytes()).decode()
    dt = page.evaluate_handle(
        """([b64, name, mime]) => {
            const bin = atob(b64); const bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: mime, lastModified: 1700000000000}));
            return dt;
        }""",
        [data, path.name, mime],
    )
    page.dispatch_event(selector, "dragover", {"dataTransfer": dt})
    page.dispatch_event(selector, "drop", {"dataTransfer": dt})


@dataclass
class ProcessedProject:
    """A talk uploaded by drag and drop (one dropped connection), processed to clips."""

    email: str
    project_id: str
    video: Path
    upload_requests: list[tuple[str, str, dict[str, str]]]
    aborted_at_offset: int
    progress_seen: list[dict[str, Any]]
    event_stream_requests: int
    polls_during_progress: int
    clip_ids: list[str]


@pytest.fixture(scope="session")
def talk_file() -> Path:
    from tests.mediagen import TOPIC_SENTENCES, talk_audio, video_with_audio

    folder = Path(tempfile.mkdtemp(prefix="cliply-studio-talk-"))
    wav, _ = talk_audio(folder, TOPIC_SENTENCES[0] + TOPIC_SENTENCES[1])
    return video_with_audio(folder / "bread-and-bees.mp4", wav, size="640x360", source="color")


@pytest.fixture(scope="session")
def processed_project(browser: Any, studio: Studio, talk_file: Path) -> ProcessedProject:
    """Steps 1-2 of the end-to-end path, done once per session and shared: sign up, create a
    workspace, drop the talk on the upload zone with the connection cut once mid-upload,
    then follow the live progress until the clips are rendered. Observations are recorded
    for the tests to check; later tests (gallery, editor, scheduling) reuse the project."""
    errors = ConsoleErrors()
    ctx, page = new_page(browser, studio, errors)
    try:
        email = sign_up(page, workspace="Bread & Bees")
        uploads: list[tuple[str, str, dict[str, str]]] = []
        page.on(
            "request",
            lambda r: (
                uploads.append((r.method, r.url, dict(r.headers)))
                if "/api/v1/uploads" in r.url
                else None
            ),
        )
        state = {"patches": 0, "aborted_at": -1}

        def cut_once(route: Any) -> None:
            req = route.request
            if req.method == "PATCH":
                state["patches"] += 1
                if state["patches"] == 3 and state["aborted_at"] < 0:
                    state["aborted_at"] = int(req.headers.get("upload-offset", "0"))
                    route.abort("connectionreset")
                    return
            route.continue_()

        page.route("**/api/v1/uploads/**", cut_once)
        # Small clips so the shared project renders fast; these travel as tus metadata.
        page.fill("#up-top_k", "2")
        page.fill("#up-min_s", "6")
        page.fill("#up-max_s", "16")
        drop_file(page, "#dropzone", talk_file)
        page.wait_for_url("**/projects/*-*", timeout=60_000)
        # A dropped chunk logs a network error in the console: that one is expected.
        errors.allow("net::ERR_CONNECTION_RESET")
        project_id = page.url.rstrip("/").split("/")[-1]
        page.unroute("**/api/v1/uploads/**")

        polls = {"n": 0, "sse": 0}
        page.on(
            "request",
            lambda r: (
                polls.__setitem__("sse", polls["sse"] + 1)
                if r.url.endswith("/events")
                else (
                    polls.__setitem__("n", polls["n"] + 1)
                    if re.search(r"/api/v1/(projects/[0-9a-f-]+/?(\?|$)|jobs)", r.url)
                    else None
                )
            ),
        )
        seen: list[dict[str, Any]] = []
        page.expose_function("__recordProgress", lambda s: seen.append(s))
        page.reload()  # the exposed hook is there from the start; EventSource connects anew
        # Record what the page paints: stage, percent, ETA as the user sees them.
        page.evaluate(
            """() => {
                const box = document.getElementById('progress');
                const rec = () => window.__recordProgress({
                    status: document.getElementById('p-status').textContent,
                    percent: document.getElementById('p-percent').textContent,
                    eta: document.getElementById('p-eta').textContent,
                    stage: document.getElementById('p-stage-text').textContent,
                    live: box.dataset.live || ''});
                new MutationObserver(rec).observe(box, {subtree: true, childList: true,
                    characterData: true, attributes: true});
                rec();
            }"""
        )
        page.wait_for_selector("a.button:has-text('View')", timeout=420_000)
        clip_ids = [
            r[0]
            for r in studio.sql(
                "SELECT id::text FROM clips WHERE project_id = CAST(:p AS uuid) ORDER BY rank",
                p=project_id,
            )
        ]
        bad = errors.unexpected()
        assert not bad, "console errors:\n" + "\n".join(bad)
        return ProcessedProject(
            email=email,
            project_id=project_id,
            video=talk_file,
            upload_requests=uploads,
            aborted_at_offset=state["aborted_at"],
            progress_seen=seen,
            event_stream_requests=polls["sse"],
            polls_during_progress=polls["n"],
            clip_ids=clip_ids,
        )
    finally:
        ctx.close()
