"""Napoleon AI's simulated production: every fake, its credentials and one virtual clock.

:class:`SimulatedCloud` is what a drill talks to instead of Supabase, Vercel, Slack, the status
page and the email provider. :meth:`SimulatedCloud.routes` lists (host, handler) pairs to mount
on respx or an ``httpx.MockTransport``. Credentials are random per run and registered with the
cloud's :class:`~runbook_lib.world.redact.Redactor` (the drill session's), so they cannot leak
into an artifact.

The cloud simulates one :class:`~runbook_lib.world.targets.Target`: by default the guide's own
production names; for a live target (``--target staging``) it stands in for the target's
endpoints, with the target's projects and the tokens the target's environment holds.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from runbook_lib.procedures.deployment.vercel import VercelClient
from runbook_lib.procedures.incident_response.communications import Channels
from runbook_lib.sim.external import OpenAIFake, StripeFake
from runbook_lib.sim.http import FakeAPI
from runbook_lib.sim.notify import SendGridFake, SlackWebhookFake, StatusPageFake
from runbook_lib.sim.supabase import SupabaseFake
from runbook_lib.sim.vercel import VercelFake
from runbook_lib.sim.vercel_backend import token as vercel_token
from runbook_lib.world.clock import VirtualClock
from runbook_lib.world.redact import Redactor
from runbook_lib.world.targets import SIMULATED, Target

# the simulated target's names, for tests of the fakes themselves
PROJECT_REF = SIMULATED.supabase_project
VERCEL_PROJECT_ID = SIMULATED.vercel_project
VERCEL_PROJECT_NAME = SIMULATED.vercel_project_name
STATUS_PAGE_ID = "np0l30n41"
INCIDENTS_CHANNEL = "#incidents"
APP_HOOKS_HOST = "hooks.napoleon-ai.test"  # our own endpoints (monitoring.webhooks.HOOKS_HOST)


@dataclass(frozen=True)
class Credentials:
    """The simulated world's keys and tokens; printed, it names its fields only (a traceback or
    an assertion repr never shows a value)."""

    supabase_access_token: str
    supabase_service_role_key: str
    vercel_token: str
    statuspage_key: str
    sendgrid_key: str
    slack_webhook_path: str
    stripe_key: str
    openai_key: str

    def __repr__(self) -> str:
        return f"Credentials({', '.join(f'{name}=***' for name in self.__dataclass_fields__)})"

    @classmethod
    def generate(cls, redactor: Redactor) -> Credentials:
        creds = cls(
            supabase_access_token="sbp_" + secrets.token_hex(20),
            supabase_service_role_key="eyJhbGciOiJIUzI1NiJ9."
            + secrets.token_urlsafe(32)
            + "."
            + secrets.token_urlsafe(16),
            vercel_token=vercel_token(),  # 24 letters and digits, as Vercel issues them
            statuspage_key=secrets.token_hex(16),
            sendgrid_key="SG." + secrets.token_urlsafe(16) + "." + secrets.token_urlsafe(24),
            slack_webhook_path=f"/services/T0NAPOLEON/B0INCIDENTS/{secrets.token_urlsafe(18)}",
            stripe_key="sk_test_" + secrets.token_urlsafe(24),
            openai_key="sk-proj-" + secrets.token_urlsafe(32),
        )
        redactor.register(*(getattr(creds, name) for name in creds.__dataclass_fields__))
        return creds

    @classmethod
    def for_target(cls, target: Target, redactor: Redactor) -> Credentials:
        """Random credentials, except those the target's environment holds (a live target's)."""
        given = {
            name: held.reveal() if (held := target.credentials.get(variable)) else None
            for name, variable in (
                ("supabase_access_token", "SUPABASE_ACCESS_TOKEN"),
                ("supabase_service_role_key", "SUPABASE_SERVICE_ROLE_KEY"),
                ("vercel_token", "VERCEL_TOKEN"),
                ("stripe_key", "STRIPE_SECRET_KEY"),
                ("openai_key", "OPENAI_API_KEY"),
            )
        }
        if webhook := target.credentials.get("SLACK_WEBHOOK_URL"):  # its path is the secret
            redactor.register(webhook)
            given["slack_webhook_path"] = urlsplit(webhook.reveal()).path
        redactor.register(*(value for value in given.values() if value))
        return dataclasses.replace(
            cls.generate(redactor), **{name: value for name, value in given.items() if value}
        )


@dataclass
class FakeKeyProvider:
    """A provider's key dashboard (issue, revoke) plus an authenticated read to test a key."""

    fake: FakeAPI
    probe_url: str
    prefix: str
    http: httpx.Client
    redactor: Redactor

    def issue(self) -> str:
        key = self.prefix + secrets.token_urlsafe(24)
        self.redactor.register(key)
        self.fake.tokens.add(key)
        return key

    def revoke(self, key: str) -> None:
        self.fake.tokens.discard(key)

    def status_with(self, key: str) -> int:
        return self.http.get(self.probe_url, headers={"Authorization": f"Bearer {key}"}).status_code


@dataclass
class AppEndpoints:
    """Napoleon AI's own endpoints at ``https://hooks.napoleon-ai.test``: the receivers a drill
    mounts by path (SendGrid's event webhook, Stripe's, the Alertmanager status page bridge),
    served like the simulations, so a provider's delivery crosses real HTTP to reach them."""

    handlers: dict[str, Callable[[httpx.Request], httpx.Response]] = field(default_factory=dict)

    def mount(self, path: str, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handlers[path] = handler

    def handle(self, request: httpx.Request) -> httpx.Response:
        handler = self.handlers.get(request.url.path)
        if handler is None:
            return httpx.Response(404, json={"error": f"no endpoint at {request.url.path}"})
        return handler(request)


@dataclass
class SimulatedCloud:
    target: Target = SIMULATED
    clock: VirtualClock = field(default_factory=VirtualClock)
    redactor: Redactor = field(default_factory=Redactor)  # the session's, in a drill
    credentials: Credentials = field(init=False)
    supabase: SupabaseFake = field(init=False)
    vercel: VercelFake = field(init=False)
    slack: SlackWebhookFake = field(init=False)
    statuspage: StatusPageFake = field(init=False)
    sendgrid: SendGridFake = field(init=False)
    stripe: StripeFake = field(init=False)
    openai: OpenAIFake = field(init=False)
    app: AppEndpoints = field(default_factory=AppEndpoints)

    def __post_init__(self) -> None:
        self.credentials = Credentials.for_target(self.target, self.redactor)
        c, target = self.credentials, self.target
        self.supabase = SupabaseFake(self.clock)
        self.supabase.tokens.add(c.supabase_access_token)
        project = self.supabase.backend.add_project(
            target.supabase_project, service_role_key=c.supabase_service_role_key
        )
        self.redactor.register(*(key.api_key for key in project.api_keys))
        self.vercel = VercelFake(self.clock)
        self.vercel.tokens.add(c.vercel_token)
        # the guide deploys to a custom environment with `vercel --target staging`: Napoleon's
        # project defines it (a project without it is refused, tests/test_contracts_vercel.py)
        vercel_project = self.vercel.add_project(
            target.vercel_project, target.vercel_project_name, environments=("staging",)
        )
        self.redactor.register(vercel_project.bypass_secret)
        self.slack = SlackWebhookFake(self.clock)
        self.slack.add_webhook(c.slack_webhook_path, INCIDENTS_CHANNEL)
        self.statuspage = StatusPageFake(STATUS_PAGE_ID, self.clock)
        self.statuspage.tokens.add(c.statuspage_key)
        self.sendgrid = SendGridFake(self.clock)
        self.sendgrid.tokens.add(c.sendgrid_key)
        self.stripe = StripeFake(self.clock)
        self.stripe.tokens.add(c.stripe_key)
        self.openai = OpenAIFake(self.clock)
        self.openai.tokens.add(c.openai_key)

    @property
    def slack_webhook_url(self) -> str:
        return self.slack.base_url + self.credentials.slack_webhook_path

    def environment(self) -> dict[str, str]:
        """The variables the guide's commands expect ({PROJECT_ID}, {SUPABASE_SERVICE_ROLE_KEY})."""
        c = self.credentials
        return {
            "PROJECT_ID": self.target.supabase_project,
            "SUPABASE_SERVICE_ROLE_KEY": c.supabase_service_role_key,
            "SUPABASE_ACCESS_TOKEN": c.supabase_access_token,
            "VERCEL_TOKEN": c.vercel_token,
        }

    def vercel_client(self, http: httpx.Client, *, bypass: bool = False) -> VercelClient:
        """The Vercel REST client for the target's project, on this cloud's clock (``bypass``:
        with the project's automation bypass secret, as a CI smoke test passes protection)."""
        target = self.target
        secret = self.vercel.projects[target.vercel_project].bypass_secret if bypass else None
        return VercelClient(
            self.credentials.vercel_token,
            target.vercel_project,
            target.vercel_project_name,
            self.clock,
            http,
            bypass_secret=secret,
        )

    def channels(self) -> Channels:
        """Where incident and maintenance messages go in this simulation."""
        c = self.credentials
        return Channels(self.slack_webhook_url, STATUS_PAGE_ID, c.statuspage_key, c.sendgrid_key)

    def credential_store(self) -> dict[str, str]:
        """What clients read their keys from (environment variable name -> value)."""
        c = self.credentials
        return {
            "SUPABASE_ACCESS_TOKEN": c.supabase_access_token,
            "VERCEL_TOKEN": c.vercel_token,
            "STRIPE_SECRET_KEY": c.stripe_key,
            "OPENAI_API_KEY": c.openai_key,
        }

    def key_providers(self, http: httpx.Client) -> dict[str, FakeKeyProvider]:
        """Each provider's key dashboard; keys are tested with requests through ``http``."""
        return {
            "SUPABASE_ACCESS_TOKEN": FakeKeyProvider(
                self.supabase,
                f"https://api.supabase.com/v1/projects/{self.target.supabase_project}/database/backups",
                "sbp_",
                http,
                self.redactor,
            ),
            "VERCEL_TOKEN": FakeKeyProvider(
                self.vercel, "https://api.vercel.com/v2/user", "", http, self.redactor
            ),
            "STRIPE_SECRET_KEY": FakeKeyProvider(
                self.stripe,
                "https://api.stripe.com/v1/balance",
                "sk_test_",
                http,
                self.redactor,
            ),
            "OPENAI_API_KEY": FakeKeyProvider(
                self.openai,
                "https://api.openai.com/v1/models",
                "sk-proj-",
                http,
                self.redactor,
            ),
        }

    def routes(self) -> list[tuple[str, Callable[[httpx.Request], httpx.Response]]]:
        """(host regex, handler) for every simulated service, for respx or MockTransport."""
        return [
            (r"api\.supabase\.com", self.supabase.handle),
            (r"api\.vercel\.com", self.vercel.handle),
            (r"[a-z0-9-]+\.vercel\.app", self.vercel.handle_deployment_url),
            (r"hooks\.slack\.com", self.slack.handle),
            (r"api\.statuspage\.io", self.statuspage.handle),
            (r"api\.sendgrid\.com", self.sendgrid.handle),
            (r"api\.stripe\.com", self.stripe.handle),
            (r"api\.openai\.com", self.openai.handle),
            (APP_HOOKS_HOST.replace(".", r"\."), self.app.handle),
        ]
