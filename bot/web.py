"""The bot's small web server: one-click unsubscribe (RFC 8058) and a health check.

GET  /unsubscribe?t=TOKEN  → a confirmation page with a POST button (a link scanner that
                              follows links unsubscribes nobody);
POST /unsubscribe?t=TOKEN  → unsubscribes and shows so (mail clients' one-click POST too);
GET  /exit?t=TOKEN&r=WHY   → an exit survey answer to confirm (a POST button, same reason);
POST /exit?t=TOKEN&r=WHY   → records why the member left (the attrition KPI's reasons);
a tampered or unknown token (or one naming ids beyond 2**63) → a refusal page, HTTP 400.
GET  /healthz              → the real state as JSON (``bot/health.py``): 200 when healthy,
                              503 with the problems when not.

Every response carries the security headers of :data:`SECURITY_HEADERS`: no framing, no
script, no content-type sniffing, no referrer (the link's token stays here).
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.health import HealthCheck, HealthSource
from bot.services.email import EmailService
from bot.templating import Templates

log = logging.getLogger(__name__)

PAGE = "email/page.html"
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    # the pages are one form and inline styles: nothing else loads, nothing runs
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline';"
                               " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    """Every response (pages, refusals, 404s, health) gets the security headers."""
    response.headers.update(SECURITY_HEADERS)


class WebServer:
    def __init__(self, email: EmailService, templates: Templates, default_locale: str,
                 health: HealthSource | None = None) -> None:
        self.email = email
        self.templates = templates
        self.default_locale = default_locale
        # the bot hands in a check that knows the gateway and its senders (bot/app.py)
        self.health_check: HealthSource = health or HealthCheck(email.db, email.clock)
        self.app = web.Application()
        self.app.on_response_prepare.append(_secure)
        self.app.add_routes([
            web.get("/unsubscribe", self.confirm),
            web.post("/unsubscribe", self.unsubscribe),
            web.get("/exit", self.exit_confirm),
            web.post("/exit", self.exit_answer),
            web.get("/healthz", self.health),
        ])
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port); returns the port."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # (host, port[, …]) of the bound socket
        log.info("web server listening on %s:%s", host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _page(self, locale: str, state: str, status: int = 200, token: str = "",
              scope: str = "", reason: str = "") -> web.Response:
        html = self.templates.render(locale, PAGE, state=state, token=token, scope=scope,
                                     reason=reason)
        return web.Response(text=html, status=status, content_type="text/html",
                            headers={"Cache-Control": "no-store"})

    async def confirm(self, request: web.Request) -> web.Response:
        token = request.query.get("t", "")
        checked = await self.email.check_token(token)
        if checked is None:
            return self._page(self.default_locale, "refused", 400)
        parsed, locale = checked
        return self._page(locale, "confirm", token=token, scope=parsed.scope)

    async def unsubscribe(self, request: web.Request) -> web.Response:
        token = request.query.get("t", "")
        if not token:
            token = str((await request.post()).get("t", ""))
        done = await self.email.unsubscribe(token)
        if done is None:
            return self._page(self.default_locale, "refused", 400)
        parsed, locale = done
        return self._page(locale, "done", scope=parsed.scope)

    async def exit_confirm(self, request: web.Request) -> web.Response:
        token, reason = request.query.get("t", ""), request.query.get("r", "")
        checked = await self.email.check_exit(token, reason)
        if checked is None:
            return self._page(self.default_locale, "refused", 400)
        return self._page(checked[1], "exit_confirm", token=token, reason=reason)

    async def exit_answer(self, request: web.Request) -> web.Response:
        done = await self.email.answer_exit(request.query.get("t", ""),
                                            request.query.get("r", ""))
        if done is None:
            return self._page(self.default_locale, "refused", 400)
        return self._page(done[1], "exit_done")

    async def health(self, request: web.Request) -> web.Response:
        report = await self.health_check()
        if not report.ok:
            log.info("health check: %s", "; ".join(report.problems))
        return web.json_response(report.as_json(), status=200 if report.ok else 503,
                                 headers={"Cache-Control": "no-store"})
