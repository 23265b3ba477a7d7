"""Server-rendered pages: one Jinja2 environment (autoescape on), shared context, and the security headers.

Every value a user typed reaches the page through ``{{ }}``, which escapes it; no template uses ``|safe``
on user data. The Content-Security-Policy allows only this origin's own scripts and styles (no inline
script, no CDN), so even an escaping mistake could not run injected script.
"""
from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bgremover import __version__
from bgremover.service.web_sessions import WebSession

TEMPLATES = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("bgremover.web") / "templates")), autoescape=True,
    undefined=jinja2.StrictUndefined))

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
PAGE_PREFIXES = ("/login", "/logout", "/signup", "/invite/", "/dashboard", "/console", "/models", "/static/")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _money(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency}"


TEMPLATES.env.filters["when"] = _when
TEMPLATES.env.filters["money"] = _money
TEMPLATES.env.globals["version"] = __version__


def render(request: Request, name: str, session: WebSession | None, status: int = 200,
           **context: Any) -> HTMLResponse:
    ctx = {"session": session, "account": session.account if session else None,
           "csrf_token": session.csrf_token if session else "", "path": request.url.path,
           "signup_enabled": request.app.state.bg.settings.signup_enabled, **context}
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status)


def see_other(url: str) -> RedirectResponse:
    """After a successful form post: 303 to a page, so a reload does not post again."""
    return RedirectResponse(url, status_code=303)


class SecurityHeadersMiddleware:
    """Adds CSP, frame, sniffing and referrer headers to the dashboard's pages. Every other response (the JSON
    API, result images, /docs, whose Swagger UI a strict CSP would break) gets nosniff and frame denial only.
    Pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = scope["path"].startswith(PAGE_PREFIXES)
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
                if page:
                    headers += [(b"referrer-policy", b"same-origin"),
                                (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]
                if page and not static:
                    headers += [(b"content-security-policy", CSP.encode()), (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, send_with_headers)
