"""User sign-in (device code, browser) through real MSAL flows against the local endpoint."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabric_livy_magics.auth.cache import open_token_cache
from fabric_livy_magics.auth.providers import DeviceCodeProvider
from fabric_livy_magics.errors import AuthError
from tests.auth.conftest import auth_settings

# The plain-file fallback notes it once on stderr; tests that care assert the note with _noted.


@contextlib.contextmanager
def _noted(expected: str = "") -> Iterator[None]:
    """The cache's plain note on stderr (said once per message and process), checked for ``expected``."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        yield
    assert expected in err.getvalue()


def _device_provider(idp, client, cache, prompts, **changes):
    settings = auth_settings(idp, method="device-code", client_id=client.client_id, **changes)
    return DeviceCodeProvider(settings, token_cache=cache, on_prompt=prompts.append)


def test_device_code_polls_until_the_person_signs_in(idp, public_client, tmp_path):
    idp.approve_device_after_polls = 2  # two authorization_pending answers, then success
    prompts = []
    provider = _device_provider(idp, public_client, open_token_cache(tmp_path / "c.json"), prompts)
    token = provider.get_token()
    assert token.account == idp.user
    assert len(prompts) == 1 and prompts[0].user_code in prompts[0].message
    assert prompts[0].verification_uri.endswith("/devicelogin")
    assert idp.grants().count("urn:ietf:params:oauth:grant-type:device_code") == 3


def test_device_code_times_out_with_plain_words(idp, public_client):
    idp.approve_device_after_polls = None  # nobody ever enters the code
    prompts = []
    provider = _device_provider(idp, public_client, None, prompts, device_code_timeout=2.0,
                                token_cache_enabled=False)
    started = time.monotonic()
    with pytest.raises(AuthError, match="Nobody entered the device code within 2 s"):
        provider.get_token()
    assert time.monotonic() - started < 6


def test_device_code_wait_can_be_cancelled_from_another_thread(idp, public_client):
    idp.approve_device_after_polls = None
    shown = threading.Event()
    provider = DeviceCodeProvider(
        auth_settings(idp, method="device-code", client_id=public_client.client_id,
                      token_cache_enabled=False, device_code_timeout=60.0),
        on_prompt=lambda prompt: shown.set())
    errors = []

    def sign_in():
        try:
            provider.get_token()
        except AuthError as exc:
            errors.append(exc)

    worker = threading.Thread(target=sign_in)
    worker.start()
    assert shown.wait(10)
    started = time.monotonic()
    provider.cancel()
    worker.join(10)
    assert not worker.is_alive()
    assert time.monotonic() - started < 4
    assert [str(e) for e in errors] == ["Device-code sign-in was cancelled."]


def test_expired_device_code_is_explained(idp, public_client):
    idp.approve_device_after_polls = None
    idp.device_code_lifetime = 1  # the endpoint says expired_token once it lapses
    provider = _device_provider(idp, public_client, None, [], token_cache_enabled=False)
    with pytest.raises(AuthError, match="device code expired.*AADSTS70020"):
        provider.get_token()


def test_silent_refresh_uses_the_refresh_token(idp, public_client, tmp_path):
    idp.expires_in = 120  # inside MSAL's and our 5-minute margin: every call must refresh
    provider = _device_provider(idp, public_client, open_token_cache(tmp_path / "c.json"), [])
    first = provider.get_token()
    second = provider.get_token()
    assert second.token != first.token
    assert idp.grants()[-1] == "refresh_token"
    assert idp.grants().count("urn:ietf:params:oauth:grant-type:device_code") == 2  # one sign-in


def test_cache_persists_across_providers_with_mode_0600(idp, public_client, tmp_path):
    path = tmp_path / "cache" / "tokens.json"
    with _noted("plain file readable only by you"):
        cache = open_token_cache(path)
    _device_provider(idp, public_client, cache, []).get_token()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # a new kernel: new provider, new cache object on the same file, no prompt
    prompts = []
    with _noted():
        again = _device_provider(idp, public_client, open_token_cache(path), prompts)
    second = again.get_token()
    assert prompts == [] and second.account == idp.user
    assert idp.grants().count("urn:ietf:params:oauth:grant-type:device_code") == 2


def test_existing_cache_file_is_tightened_to_0600(tmp_path, clean_env):
    path = tmp_path / "tokens.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    with _noted():
        open_token_cache(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sign_out_removes_the_account_from_the_persistent_cache(idp, public_client, tmp_path):
    path = tmp_path / "tokens.json"
    with _noted():
        provider = _device_provider(idp, public_client, open_token_cache(path), [])
    provider.get_token()
    assert idp.user in path.read_text()
    provider.sign_out()
    assert provider.signed_in_as() is None
    assert idp.user not in path.read_text()
    prompts = []
    with _noted():
        fresh = _device_provider(idp, public_client, open_token_cache(path), prompts)
    fresh.get_token()
    assert len(prompts) == 1  # signed out means the next sign-in prompts again


def test_unusable_cache_folder_warns_and_signs_in_from_memory(idp, public_client, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with _noted("kept in memory"):
        cache = open_token_cache(blocker / "tokens.json")
    token = _device_provider(idp, public_client, cache, []).get_token()
    assert token.account == idp.user


def test_cache_that_breaks_after_opening_degrades_to_memory(idp, public_client, tmp_path):
    path = tmp_path / "tokens.json"
    with _noted():
        cache = open_token_cache(path)
    path.mkdir()  # the store is now unreadable and unwritable, even for root
    with _noted("cannot be used"):
        token = _device_provider(idp, public_client, cache, []).get_token()
    assert token.account == idp.user
    assert cache.degraded_reason


def test_consent_missing_for_user_is_explained(idp, public_client):
    public_client.consented = False
    provider = _device_provider(idp, public_client, None, [], token_cache_enabled=False)
    with pytest.raises(AuthError, match="no consent.*AADSTS65001"):
        provider.get_token()


HEADLESS_SIGN_IN = r"""
import hashlib, json, sys
from fabric_livy_magics.auth.providers import InteractiveBrowserProvider
from fabric_livy_magics.auth.settings import AuthSettings
settings = AuthSettings(**json.loads(sys.argv[1]))
token = InteractiveBrowserProvider(settings).get_token()
print(json.dumps({"account": token.account, "sha256": hashlib.sha256(token.token.encode()).hexdigest()}))
"""


def test_interactive_browser_flow_with_a_headless_browser(idp, public_client, tmp_path):
    """The whole browser flow for real: MSAL opens "the browser" named by $BROWSER (a script that
    follows the authorize page's form_post to MSAL's loopback listener), receives the code, and
    redeems it with PKCE. Run in a child process so $BROWSER is read fresh by `webbrowser`."""
    browser = Path(__file__).with_name("headless_browser.py")
    settings = {"method": "interactive", "client_id": public_client.client_id,
                "tenant_id": "contoso-test", "authority_host": idp.authority_host,
                "instance_discovery": False, "token_cache_path": str(tmp_path / "tokens.json"),
                "interactive_timeout": 30.0}
    env = dict(os.environ, BROWSER=f"{sys.executable} {browser} %s", PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, "-c", HEADLESS_SIGN_IN, json.dumps(settings)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["account"] == idp.user
    assert "authorization_code" in idp.grants()
    assert any(path.endswith("/oauth2/v2.0/authorize") for path, _ in idp.log)
