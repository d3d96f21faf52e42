"""The sign-in form (``%livy login``) and its plain-text twin for places widgets cannot render.

Both turn a person's choices into a :class:`SignInResult`: a token provider for the HTTP client and
the Fabric connection settings for ``%livy connect``. The form never holds a secret longer than a
click: the secret field is emptied as soon as it is read, so it is not saved with the notebook.
Slow sign-ins (browser, device code) wait in a background thread with a deadline and a Cancel
button, so the kernel stays responsive.
"""

from __future__ import annotations

import getpass
import html
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fabric_livy_magics.auth.base import TokenProvider
from fabric_livy_magics.auth.providers import DeviceCodePrompt, provider_from_settings
from fabric_livy_magics.auth.settings import AuthSettings, resolve_auth_settings
from fabric_livy_magics.errors import ConfigurationError, LivyError
from fabric_livy_magics.livy.settings import ConnectionSettings, resolve_connection_settings

__all__ = ["LoginForm", "SignInResult", "describe_sign_in", "login_text"]

METHOD_LABELS: tuple[tuple[str, str], ...] = (
    ("Browser (interactive)", "interactive"),
    ("Device code (remote machine)", "device-code"),
    ("Service principal (secret or certificate)", "service-principal"),
    ("Azure CLI (az login)", "azure-cli"),
    ("Azure default credential", "azure-default"),
    ("Token from environment", "environment"),
    ("None (local server / open Livy)", "none"),
)
_SLOW_METHODS = frozenset({"interactive", "device-code"})


@dataclass(frozen=True)
class SignInResult:
    """What a finished sign-in gives the magics: who, until when, and where to run."""

    method: str
    provider: TokenProvider | None  # None for method "none": send no Authorization header
    account: str | None
    expires_on: float | None
    connection: ConnectionSettings


def describe_sign_in(result: SignInResult) -> str:
    """One line for people: who is signed in and until when (never the token)."""
    if result.provider is None:
        who = "No sign-in (requests carry no token)"
    else:
        who = f"Signed in as {result.account or 'unknown account'} ({result.method})"
    if result.expires_on and result.expires_on != float("inf"):
        who += f"; token valid until {time.strftime('%H:%M:%S', time.localtime(result.expires_on))}"
    conn = result.connection
    if conn.is_complete:
        who += f"; workspace {conn.workspace_id}, lakehouse {conn.lakehouse_id}"
        if conn.environment_id:
            who += f", environment {conn.environment_id}"
    return who + "."


def _sign_in(settings: AuthSettings, connection: ConnectionSettings, *, token_cache: Any,
             on_prompt: Callable[[DeviceCodePrompt], None] | None,
             on_auth_url: Callable[[str], None] | None,
             started: Callable[[Any], None] = lambda provider: None) -> SignInResult:
    provider = provider_from_settings(settings, token_cache=token_cache, on_prompt=on_prompt,
                                      on_auth_url=on_auth_url)
    if provider is None:
        return SignInResult(settings.method, None, None, None, connection)
    started(provider)
    token = provider.get_token()
    return SignInResult(settings.method, provider, token.account, token.expires_on, connection)


def login_text(
    method: str | None = None,
    *,
    tenant_id: str | None = None,
    client_id: str | None = None,
    certificate_path: str | None = None,
    client_secret: str | None = None,
    workspace_id: str | None = None,
    lakehouse_id: str | None = None,
    environment_id: str | None = None,
    connection_string: str | None = None,
    ask_secret: Callable[[str], str] | None = getpass.getpass,
    out: Callable[[str], None] = print,
    token_cache: Any = None,
    environ: Mapping[str, str] | None = None,
) -> SignInResult:
    """Sign in from options and print text: ``%livy login --method device-code`` without widgets.

    Options override the environment and the config file. A service principal without a secret or
    certificate asks for the secret with ``ask_secret`` (``getpass``), so it never sits in history.
    """
    explicit = {"method": method, "tenant_id": tenant_id, "client_id": client_id,
                "certificate_path": certificate_path, "client_secret": client_secret}
    settings = resolve_auth_settings(explicit, environ=environ)
    if (settings.method == "service-principal" and not settings.client_secret
            and not settings.certificate_path):
        if ask_secret is None:  # a notebook: there is no terminal to ask on
            raise ConfigurationError(
                "Service-principal sign-in needs a secret or certificate: set AZURE_CLIENT_SECRET "
                "(or AZURE_CLIENT_CERTIFICATE_PATH) in the environment, or type it into the sign-in "
                "form (`%livy login` without --text).")
        settings = settings.replace(client_secret=ask_secret("Client secret: ") or None)
    connection = resolve_connection_settings(
        {"workspace_id": workspace_id, "lakehouse_id": lakehouse_id,
         "environment_id": environment_id, "connection_string": connection_string},
        environ=environ)

    def show_code(prompt: DeviceCodePrompt) -> None:
        out(prompt.message or f"Open {prompt.verification_uri} and enter the code {prompt.user_code}.")
        out(f"Waiting up to {settings.device_code_timeout:.0f} s for the sign-in to finish...")

    result = _sign_in(settings, connection, token_cache=token_cache, on_prompt=show_code,
                      on_auth_url=lambda url: out(f"Open this address in a browser to sign in: {url}"))
    out(describe_sign_in(result))
    return result


class LoginForm:
    """An ipywidgets sign-in form. Display it (``display(form)``), or drive it from code/tests:
    set the fields' ``.value``, call ``form.sign_in_button.click()``, read ``form.state``.

    States: ``signed-out``, ``signing-in``, ``waiting-for-code``, ``signed-in``, ``error``.
    """

    def __init__(
        self,
        *,
        settings: AuthSettings | None = None,
        connection: ConnectionSettings | None = None,
        token_cache: Any = None,
        on_sign_in: Callable[[SignInResult], None] | None = None,
    ) -> None:
        import ipywidgets as w

        base = settings or resolve_auth_settings()
        conn = connection or resolve_connection_settings()
        self._base = base
        self._token_cache = token_cache
        self._on_sign_in = on_sign_in
        self._worker: threading.Thread | None = None
        self._provider: Any = None
        self.result: SignInResult | None = None
        self.state = "signed-out"
        self.error_text = ""

        def wide() -> Any:
            # One Layout per widget: a shared one would hide every field when one is hidden.
            return w.Layout(width="34em")

        style = {"description_width": "9em"}

        def text(description: str, value: str | None, placeholder: str = "") -> Any:
            return w.Text(value=value or "", description=description, placeholder=placeholder,
                          layout=wide(), style=style)

        self.method = w.Dropdown(options=list(METHOD_LABELS), value=base.method,
                                 description="Method", layout=wide(), style=style)
        self.tenant = text("Tenant", base.tenant_id, "GUID or contoso.onmicrosoft.com")
        self.client_id = text("Client id", base.client_id, "application (client) id")
        self.secret = w.Password(value="", description="Client secret", layout=wide(), style=style,
                                 placeholder="only for a service principal")
        self.certificate_path = text("Certificate", base.certificate_path, "PEM or PFX file path")
        self.workspace = text("Workspace id", conn.workspace_id)
        self.lakehouse = text("Lakehouse id", conn.lakehouse_id)
        self.connection_string = text("or connection", conn.connection_string,
                                      "paste the Session job connection string")
        self.environment = text("Environment id", conn.environment_id, "optional")
        self.sign_in_button = w.Button(description="Sign in", button_style="primary")
        self.sign_out_button = w.Button(description="Sign out", disabled=True)
        self.cancel_button = w.Button(description="Cancel", layout=w.Layout(display="none"))
        self.prompt = w.HTML(value="")
        self.status = w.HTML(value="Not signed in.")
        self.error = w.HTML(value="")
        self.sign_in_button.on_click(lambda _b: self._start_sign_in())
        self.sign_out_button.on_click(lambda _b: self._sign_out())
        self.cancel_button.on_click(lambda _b: self._cancel())
        self.method.observe(lambda _change: self._show_fields(), names="value")
        self.widget = w.VBox([
            self.method, self.tenant, self.client_id, self.secret, self.certificate_path,
            self.workspace, self.lakehouse, self.connection_string, self.environment,
            w.HBox([self.sign_in_button, self.sign_out_button, self.cancel_button]),
            self.prompt, self.status, self.error,
        ])
        self._show_fields()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return f"LoginForm(state={self.state!r}, method={self.method.value!r})"

    # -- internals --------------------------------------------------------------------------
    def _show_fields(self) -> None:
        method = self.method.value
        shown = (
            (self.tenant, method not in ("environment", "none")),
            (self.client_id, method in ("interactive", "device-code", "service-principal")),
            (self.secret, method == "service-principal"),
            (self.certificate_path, method == "service-principal"),
        )
        for field_, visible in shown:
            field_.layout.display = None if visible else "none"

    def _set_state(self, state: str, *, status: str | None = None, error: str = "") -> None:
        self.state = state
        self.error_text = error
        self.error.value = (f'<span style="color:#b00020">{html.escape(error)}</span>'
                            if error else "")
        if status is not None:
            self.status.value = html.escape(status)
        busy = state in ("signing-in", "waiting-for-code")
        self.sign_in_button.disabled = busy
        self.sign_out_button.disabled = state != "signed-in"
        self.cancel_button.layout.display = None if busy else "none"
        if not busy:
            self.prompt.value = ""

    def _read_form(self) -> tuple[AuthSettings, ConnectionSettings]:
        secret = self.secret.value
        self.secret.value = ""  # never leave a secret in widget state (saved with the notebook)
        changes = {"method": self.method.value, "tenant_id": self.tenant.value.strip() or None,
                   "client_id": self.client_id.value.strip() or None,
                   "certificate_path": self.certificate_path.value.strip() or None,
                   "client_secret": secret or None}
        settings = self._base.replace(**{k: v for k, v in changes.items() if v is not None})
        if secret:
            settings = settings.replace(certificate_path=None)  # a typed secret wins
        connection = ConnectionSettings(
            workspace_id=self.workspace.value.strip() or None,
            lakehouse_id=self.lakehouse.value.strip() or None,
            environment_id=self.environment.value.strip() or None,
            connection_string=self.connection_string.value.strip() or None)
        return settings, connection

    def _start_sign_in(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        try:
            settings, connection = self._read_form()
        except LivyError as exc:
            self._set_state("error", error=str(exc))
            return
        self._set_state("signing-in", status="Signing in…")
        if settings.method in _SLOW_METHODS:
            self._worker = threading.Thread(target=self._run_sign_in, args=(settings, connection),
                                            name="livy-sign-in", daemon=True)
            self._worker.start()
        else:
            self._run_sign_in(settings, connection)

    def _run_sign_in(self, settings: AuthSettings, connection: ConnectionSettings) -> None:
        def started(provider: Any) -> None:
            self._provider = provider

        try:
            result = _sign_in(settings, connection, token_cache=self._token_cache,
                              on_prompt=self._show_code, on_auth_url=self._show_url,
                              started=started)
        except LivyError as exc:
            self._set_state("error", status="Not signed in.", error=str(exc))
            return
        except Exception as exc:  # shown in the form; a widget callback has nowhere else to go
            self._set_state("error", status="Not signed in.",
                            error=f"Sign-in failed unexpectedly ({type(exc).__name__}).")
            return
        self.result = result
        self._set_state("signed-in", status=describe_sign_in(result))
        if self._on_sign_in is not None:
            try:
                self._on_sign_in(result)
            except LivyError as exc:
                # The token is good (sign-out stays possible); using it failed, e.g. a connection
                # string the connect step rejects. Raised here it would only reach a thread's
                # stderr as a stack trace.
                self._set_state("signed-in", error=str(exc))

    def _show_code(self, prompt: DeviceCodePrompt) -> None:
        uri = html.escape(prompt.verification_uri)
        self._set_state("waiting-for-code", status="Waiting for you to enter the code…")
        self.prompt.value = (f'Open <a href="{uri}" target="_blank">{uri}</a> and enter the code '
                             f"<b><code>{html.escape(prompt.user_code)}</code></b>.")

    def _show_url(self, url: str) -> None:
        self.prompt.value = (f'No browser opened here: open <a href="{html.escape(url)}" '
                             'target="_blank">this sign-in page</a> on this machine.')

    def _cancel(self) -> None:
        cancel = getattr(self._provider, "cancel", None)
        if cancel is not None:
            cancel()

    def _sign_out(self) -> None:
        provider = self.result.provider if self.result else None
        try:
            if provider is not None and hasattr(provider, "sign_out"):
                provider.sign_out()
        except LivyError as exc:
            self._set_state("error", error=str(exc))
            return
        self.result = None
        self._provider = None
        self._set_state("signed-out", status="Signed out.")

    def wait(self, timeout: float = 30.0) -> str:
        """Block until a background sign-in finishes (for scripts and tests); returns the state."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return self.state
