"""The browser side of the service: dashboard, API console, model decision panel, and the payment webhook.

    auth.py             /login, /logout, /signup (when enabled)
    account_pages.py    /dashboard, /dashboard/keys, /dashboard/profile
    billing_pages.py    /dashboard/billing: balance, ledger, orders, top-up
    admin.py            /dashboard/admin
    console.py          /console and its two JSON calls (same task path as the API)
    models_panel.py     /models
    payment_webhook.py  POST /billing/webhooks/payment
    session.py          cookie, CSRF, login throttle;  render.py  templates and security headers

Server-rendered Jinja2 templates (``web/templates``) with plain CSS and a little plain JavaScript
(``web/static``): no build step, no CDN, so the pages work offline and keep working without a toolchain.
``install_dashboard(app)`` is the one hook ``web/app.py`` calls.
"""
from __future__ import annotations

from importlib import resources
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from bgremover.web.dashboard import account_pages, admin, auth, billing_pages, console, models_panel, payment_webhook
from bgremover.web.dashboard.render import SecurityHeadersMiddleware, render, see_other
from bgremover.web.dashboard.session import Forbidden, LoginRequired
from bgremover.web.errors import error_response

JSON_PATHS = ("/console/remove-bg", "/console/tasks/")


def install_dashboard(app: FastAPI) -> None:
    for module in (auth, account_pages, billing_pages, admin, console, models_panel, payment_webhook):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(resources.files("bgremover.web") / "static")), name="static")
    app.add_middleware(SecurityHeadersMiddleware)

    if not any(getattr(r, "path", None) == "/" for r in app.routes):
        @app.get("/", include_in_schema=False)
        def home() -> Response:
            return see_other("/dashboard")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith(JSON_PATHS):
            return error_response("unauthorized", "sign in first", status=401)
        return see_other("/login?" + urlencode({"next": exc.next_path}))

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith(JSON_PATHS):
            return error_response(exc.code, exc.message, status=403)
        return render(request, "message.html", None, status=403, title="Not allowed", message=exc.message)
