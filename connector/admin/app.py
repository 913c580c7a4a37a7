"""``/admin``: the operators' console, server-rendered with Jinja2 (docs/admin.md).

Every page needs a session (``/admin/login``). Every state-changing action is a POST carrying
the session's CSRF token, is allowed to the ``operator`` role only, and is written to the
evidence log with the operator's name; read-only operators are shown no buttons.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

from connector.admin import auth
from connector.admin.guard import LoginGuard
from connector.admin.lists import directory_lists, evidence_lists
from connector.admin.paging import Page
from connector.admin.partners import partner_charts, partner_row, partner_rows
from connector.admin.views import certificate_rows, package_views
from connector.admin.web import Request, Response, StartResponse
from connector.admin.words import Clock, age, error_words, state_label
from connector.clock import utcnow
from connector.evidence.audit import Witnesses, audit, connector_pin
from connector.evidence.bundle import BundleSources, EvidenceNotFoundError, export_bundle
from connector.evidence.notary import HeadNotary
from connector.exchange.states import ExchangeState
from connector.store import AdminSession, BreakerState, OperatorRole, OutboxItem, OutboxState, Store
from signing import BundleLayout, DevKeyLayout, SigningIdentity, TimestampError, VerificationPolicy

log = logging.getLogger(__name__)

MAX_REASON = 500  # characters of a pause reason (it goes into the evidence log)
MAX_SEARCH = 200  # characters of a search text (``?q=``): more is no name or code anyone types
SESSION_COOKIE = "connector_admin"
LOGIN_COOKIE = "connector_login"  # double-submit token of the login form
HERE = Path(__file__).parent
LANDING = "/admin/partners"  # an operator's first question: which partner is in trouble?
# Where an action may return to: a list or a partner's page of the console, never elsewhere.
BACK = re.compile(r"/admin/(?:outbox|partners(?:/[\w.~%-]+)?)(?:\?[\w=&%.+~-]*)?", re.ASCII)
Handler = Callable[[Request, AdminSession, re.Match[str]], Response]


@dataclass(frozen=True)
class ConsoleParts:
    """What the console works with, given by the serving layer (``Runtime.console_parts``)."""

    store: Store
    policy: VerificationPolicy
    identity: SigningIdentity
    notary: HeadNotary
    bundle_sources: BundleSources
    dev_keys: DevKeyLayout | None
    session_minutes: int
    login_guard: LoginGuard
    secure_cookie: bool = False
    """Always mark cookies ``Secure`` (else: when the request came over TLS)."""
    display_timezone: str = "Asia/Ho_Chi_Minh"
    """Times are shown, and date filters read, in this zone (``Settings.display_timezone``)."""


class AdminApp:
    """The console as a WSGI callable for paths under ``/admin``."""

    def __init__(self, parts: ConsoleParts) -> None:
        self.parts = parts
        self.store = parts.store
        self.lifetime = timedelta(minutes=parts.session_minutes)
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)
        )
        self.clock = Clock(parts.display_timezone)
        self.templates.filters["when"] = self.clock.when
        self.templates.filters["label"] = state_label
        self.templates.filters["words"] = error_words
        self.templates.globals["zone"] = self.clock
        self.routes: list[tuple[str, str, Handler, bool]] = [  # method, path pattern, handler, changes state
            ("GET", r"/admin/?", lambda r, s, m: Response.redirect(LANDING), False),
            ("GET", r"/admin/partners", self.partners, False),
            ("GET", r"/admin/partners/(?P<id>[^/]+)", self.partner, False),
            # A GET asks for confirmation (and shows what will change); the POST does it.
            ("GET", r"/admin/partners/(?P<id>[^/]+)/(?P<action>pause|resume|retry-dead)", self.confirm, False),
            ("POST", r"/admin/partners/(?P<id>[^/]+)/(?P<action>pause|resume)", self.pause, True),
            ("POST", r"/admin/partners/(?P<id>[^/]+)/retry-dead", self.retry_dead, True),
            ("GET", r"/admin/exchanges", self.exchanges, False),
            ("GET", r"/admin/exchanges/(?P<id>[^/]+)", self.exchange, False),
            ("GET", r"/admin/exchanges/(?P<id>[^/]+)/bundle\.zip", self.bundle, False),
            ("GET", r"/admin/outbox", self.outbox, False),
            ("GET", r"/admin/outbox/(?P<id>\d+)/retry", self.confirm_retry, False),
            ("POST", r"/admin/outbox/(?P<id>\d+)/retry", self.retry, True),
            ("GET", r"/admin/directory", self.directory, False),
            ("GET", r"/admin/certificates", self.certificates, False),
            ("GET", r"/admin/evidence", self.evidence, False),
            ("GET", r"/admin/evidence/sign", self.confirm_sign, False),
            ("POST", r"/admin/evidence/sign", self.sign_head, True),
            ("POST", r"/admin/logout", self.logout, False),
        ]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            response = self.handle(Request.of(environ))
        except Exception:  # a page for a person, never waitress's plain-text 500
            log.exception("admin console error")
            response = self.page(
                None, "error.html", "500 Internal Server Error", message="Lỗi hệ thống (internal error)"
            )
        return response.send(start_response)

    def handle(self, request: Request) -> Response:
        if request.path == "/admin/static/admin.css":
            return Response(body=(HERE / "admin.css").read_bytes(), content_type="text/css")
        if request.path == "/admin/login":
            return self.login(request)
        now = utcnow()
        session = auth.session_of(self.store, request.cookies.get(SESSION_COOKIE), now)
        if session is None:
            return Response.redirect("/admin/login")
        if len(request.query.get("q", "")) > MAX_SEARCH:
            message = f"Chuỗi tìm kiếm quá dài / search text (q): at most {MAX_SEARCH} characters"
            return self.page(session, "error.html", "400 Bad Request", message=message)
        found = False  # the path is known, perhaps for another method (GET asks, POST does)
        for method, pattern, handler, changes in self.routes:
            match = re.fullmatch(pattern, request.path)
            if match is None:
                continue
            found = True
            if request.method != method:
                continue
            if method == "POST" and not auth.csrf_ok(session, request.form.get("csrf")):
                return self.page(session, "error.html", "403 Forbidden", message="CSRF token missing or wrong")
            if changes and session.operator.role is not OperatorRole.OPERATOR:
                return self.page(session, "error.html", "403 Forbidden", message="Read-only operators change nothing")
            return handler(request, session, match)
        if found:
            return self.page(session, "error.html", "405 Method Not Allowed", message="Method not allowed")
        return self.page(session, "error.html", "404 Not Found", message=f"No page {request.path}")

    def page(self, session: AdminSession | None, template: str, status: str = "200 OK", **values: Any) -> Response:
        can_act = session is not None and session.operator.role is OperatorRole.OPERATOR
        html = self.templates.get_template(template).render(session=session, can_act=can_act, **values)
        return Response(status, html.encode("utf-8"))

    # ---- login ----------------------------------------------------------------------------
    def login(self, request: Request) -> Response:
        guard = self.parts.login_guard
        facts = guard.facts(request.environ)
        secure = self.parts.secure_cookie or facts.tls
        if request.method == "POST":
            token = request.cookies.get(LOGIN_COOKIE)
            if not token or not secrets.compare_digest(token, request.form.get("csrf", "")):
                return self._login_form(secure, "Phiên đăng nhập hết hạn, hãy thử lại (form expired)", "403 Forbidden")
            name = request.form.get("username", "")
            wait = guard.wait(name, facts.client_address)
            if wait is not None:  # before the password is even looked at
                message = (
                    f"Đăng nhập sai quá nhiều lần, hãy thử lại sau {wait.retry_after} giây "
                    f"(too many failed logins; try again in {wait.retry_after} seconds)"
                )
                response = self._login_form(secure, message, "429 Too Many Requests")
                response.headers.append(("Retry-After", str(wait.retry_after)))
                return response
            operator = auth.check_password(self.store, name, request.form.get("password", ""))
            if operator is None:
                guard.failed(name, facts.client_address)
                return self._login_form(
                    secure, "Sai tên đăng nhập hoặc mật khẩu (wrong username or password)", "401 Unauthorized"
                )
            guard.succeeded(operator.name, facts.client_address)
            session = auth.open_session(self.store, operator, utcnow(), self.lifetime)
            response = Response.redirect(LANDING)
            seconds = int(self.lifetime.total_seconds())
            return response.set_cookie(SESSION_COOKIE, session.cookie, seconds, secure=secure)
        return self._login_form(secure)

    def _login_form(self, secure: bool, error: str | None = None, status: str = "200 OK") -> Response:
        token = secrets.token_urlsafe(32)
        page = self.page(None, "login.html", status, error=error, csrf=token)
        return page.set_cookie(LOGIN_COOKIE, token, 3600, secure=secure)

    def logout(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        self.store.operators.close_session(auth.token_digest(request.cookies[SESSION_COOKIE]))
        secure = self.parts.secure_cookie or self.parts.login_guard.facts(request.environ).tls
        return Response.redirect("/admin/login").set_cookie(SESSION_COOKIE, "", 0, secure=secure)

    # ---- pages ----------------------------------------------------------------------------
    def partners(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        now = utcnow()
        rows = partner_rows(self.store, now)
        charts = partner_charts(self.store, self.clock, now, request.query, LANDING)
        return self.page(session, "partners.html", rows=rows, now=now, age=age, done=request.query, charts=charts)

    def partner(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        system_id, now, q = match["id"], utcnow(), request.query
        row = partner_row(self.store, now, system_id)
        if row is None:
            return self.page(session, "error.html", "404 Not Found", message=f"No partner {system_id}")
        path = f"{LANDING}/{quote(system_id, safe='')}"
        state = OutboxState(q["state"]) if q.get("state") in set(OutboxState) else None
        # The notice's fields (done, system, count) stay out of the paging links.
        asked = Page.of(path, {k: v for k, v in q.items() if k in ("state", "window", "page")})
        items, paging = self._outbox_page(state, system_id, asked)
        return self.page(
            session,
            "partner.html",
            p=row,
            now=now,
            age=age,
            charts=partner_charts(self.store, self.clock, now, q, path, system_id),
            items=items,
            paging=paging,
            state=state,
            states=list(OutboxState),
            done=q,
        )

    def confirm(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        system_id, action = match["id"], match["action"]
        if self.store.system(system_id) is None:
            return self.page(session, "error.html", "404 Not Found", message=f"No partner {system_id}")
        dead = self.store.outbox_page(OutboxState.DEAD, system_id, 0, 1)[1] if action == "retry-dead" else 0
        back = _back(request.query.get("back"), LANDING)
        return self.page(session, "confirm.html", system_id=system_id, action=action, dead=dead, back=back)

    def pause(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        system_id, paused = match["id"], match["action"] == "pause"
        if self.store.system(system_id) is None:
            return self.page(session, "error.html", "404 Not Found", message=f"No partner {system_id}")
        reason = request.form.get("reason", "").strip() or None
        if reason is not None and len(reason) > MAX_REASON:
            message = f"Lý do quá dài / reason: at most {MAX_REASON} characters, not {len(reason)}"
            return self.page(session, "error.html", "400 Bad Request", message=message)
        actor = f"admin:{session.operator.name}"
        self.store.set_paused(system_id, paused, utcnow(), reason if paused else None, actor=actor)
        back = _back(request.form.get("back"), LANDING)
        return Response.redirect(_noting(back, done=match["action"], system=system_id))

    def retry_dead(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        system_id = match["id"]
        items = self.store.retry_dead(system_id, utcnow(), actor=f"admin:{session.operator.name}")
        back = _back(request.form.get("back"), LANDING)
        return Response.redirect(_noting(back, done="retry-dead", system=system_id, count=str(len(items))))

    def exchanges(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        q = request.query
        state = ExchangeState(q["state"]) if q.get("state") in set(ExchangeState) else None
        # Date filters are days in the display zone: "from 5 May" starts at 00:00 Vietnam time.
        since, until = self.clock.start_of_day(q.get("from")), self.clock.start_of_day(q.get("to"))
        filters = (q.get("q", "").strip(), state, since, until + timedelta(days=1) if until else None)
        page = Page.of("/admin/exchanges", q).counted(self.store.count_exchanges(*filters))
        found = self.store.search_exchanges(*filters, limit=page.size, offset=page.offset)
        return self.page(session, "exchanges.html", exchanges=found, query=q, states=list(ExchangeState), paging=page)

    def exchange(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        exchange = self.store.exchange(match["id"])
        if exchange is None:
            return self.page(session, "error.html", "404 Not Found", message=f"No exchange {match['id']}")
        records = self.store.evidence.records([exchange.exchange_id])
        return self.page(
            session,
            "exchange.html",
            exchange=exchange,
            timeline=self.store.timeline(exchange.exchange_id),
            packages=package_views(self.store, self.parts.policy, records),
            outbox=self.store.outbox_items(exchange_id=exchange.exchange_id),
            records=records,
        )

    def bundle(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        try:
            data = export_bundle(self.store, self.parts.bundle_sources, match["id"])
        except EvidenceNotFoundError as exc:
            return self.page(session, "error.html", "404 Not Found", message=str(exc))
        except TimestampError as exc:
            return self.page(session, "error.html", "502 Bad Gateway", message=str(exc))
        name = re.sub(r"[^A-Za-z0-9._-]", "_", match["id"])
        return Response(
            body=data,
            content_type=BundleLayout.MEDIA_TYPE,
            headers=[("Content-Disposition", f'attachment; filename="evidence-{name}.zip"')],
        )

    def outbox(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        q = request.query
        state = OutboxState(q["state"]) if q.get("state") in set(OutboxState) else None
        system_id = q.get("system") or None
        items, paging = self._outbox_page(state, system_id, Page.of("/admin/outbox", q))
        return self.page(
            session,
            "outbox.html",
            items=items,
            paging=paging,
            system_id=system_id,
            state=state,
            states=list(OutboxState),
            # Partners whose breaker is open, with why (e.g. a gateway refusing the credentials).
            open_breakers=[q for q in self.store.partner_queues().values() if q.breaker is BreakerState.OPEN],
            done=request.query.get("done"),
        )

    def confirm_retry(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        item = self.store.outbox_item(int(match["id"]))
        if item is None:
            return self.page(session, "error.html", "404 Not Found", message=f"No outbox item {match['id']}")
        status = "200 OK" if item.state is OutboxState.DEAD else "409 Conflict"  # shown, with nothing to confirm
        return self.page(
            session,
            "retry.html",
            status,
            item=item,
            exchange=self.store.exchange(item.exchange_id),
            back=_back(request.query.get("back"), "/admin/outbox"),
        )

    def _outbox_page(
        self, state: OutboxState | None, system_id: str | None, asked: Page
    ) -> tuple[list[OutboxItem], Page]:
        items, total = self.store.outbox_page(state, system_id, asked.offset, asked.size)
        paging = asked.counted(total)
        if paging.asked:  # past the last page: the last page's rows instead
            items, _ = self.store.outbox_page(state, system_id, paging.offset, paging.size)
        return items, paging

    def retry(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        item_id = int(match["id"])
        if not self.store.retry(item_id, utcnow(), actor=f"admin:{session.operator.name}"):
            return self.page(session, "error.html", "409 Conflict", message=f"Item {item_id} is not a dead letter")
        # Back to the view the operator came from (its filters and page), with the notice.
        return Response.redirect(_noting(_back(request.form.get("back"), "/admin/outbox"), done=str(item_id)))

    def directory(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        lists = directory_lists(self.store.directory(), request.query)
        return self.page(session, "directory.html", lists=lists, query=request.query)

    def certificates(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        parts = self.parts
        rows = certificate_rows(parts.identity, parts.policy.trust_anchors, parts.dev_keys, utcnow())
        return self.page(session, "certificates.html", rows=rows)

    def evidence(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        # The same checks as `evidence verify`: the chain, its MACs, and the heads' signatures,
        # pinned to the connector (a head re-signed by a partner is refused here too).
        checked = None
        if request.query.get("verify"):
            checked = audit(self.store, Witnesses(connector_pin(self.parts.identity), self.parts.policy))
        seq, sha = self.store.evidence.head()
        records, heads = evidence_lists(self.store, seq, request.query)
        done = request.query.get("done")
        return self.page(
            session, "evidence.html", seq=seq, sha=sha, records=records, heads=heads, audit=checked, done=done
        )

    def confirm_sign(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        seq, sha = self.store.evidence.head()  # the new signed head is shown first: back to page 1
        return self.page(session, "confirm_sign.html", seq=seq, sha=sha)

    def sign_head(self, request: Request, session: AdminSession, match: re.Match[str]) -> Response:
        # The action is recorded first, so the head signed next covers it.
        self.store.evidence.record_action(f"admin:{session.operator.name}", utcnow(), {"action": "sign-head"})
        try:
            self.parts.notary.sign_head()
        except TimestampError as exc:
            return self.page(session, "error.html", "502 Bad Gateway", message=str(exc))
        return Response.redirect("/admin/evidence?done=sign-head")


def _back(value: str | None, default: str) -> str:
    """The console page an action returns to (its filters and page kept): ``value`` if it is one."""
    return value if value and BACK.fullmatch(value) else default


def _noting(back: str, **notice: str) -> str:
    """``back`` with the notice of what was done added to its query."""
    return f"{back}{'&' if '?' in back else '?'}{urlencode(notice)}"
