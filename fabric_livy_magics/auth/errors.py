"""Plain words for sign-in failures and for Fabric refusing a token.

MSAL's answers become :class:`~fabric_livy_magics.errors.AuthError` here, branching on the AADSTS
code and the OAuth ``error`` field (stable) and never on the description text (not stable). A
401/403 from Fabric is explained from the token's own claims, read locally: the missing delegated
scope, a token for the wrong audience, or the missing workspace role.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from fabric_livy_magics.auth.settings import FABRIC_DELEGATED_SCOPES, AuthSettings
from fabric_livy_magics.errors import AuthError

__all__ = ["auth_error_from_msal", "explain_fabric_denial", "token_claims", "account_from_claims"]

# AADSTS code -> what to tell the person (Entra error code reference, "AADSTS error codes").
_AADSTS_WORDS: dict[int, str] = {
    90002: "Tenant {tenant!r} was not found at {host}. Check AZURE_TENANT_ID (a GUID or a domain "
           "such as contoso.onmicrosoft.com) and, for a sovereign cloud, the authority host.",
    900023: "Tenant {tenant!r} is not a valid tenant id or domain. Check AZURE_TENANT_ID.",
    65001: "Application {client_id} has no consent for the requested Fabric permissions in tenant "
           "{tenant!r}. Ask an administrator to grant admin consent on the app registration's "
           "API permissions page (Power BI Service / Fabric scopes), or sign in interactively to "
           "consent yourself.",
    7000215: "The client secret for application {client_id} is wrong. Use the secret's Value (not "
             "its Secret ID) from the app registration's Certificates & secrets page.",
    7000222: "The client secret for application {client_id} has expired. Create a new one under "
             "Certificates & secrets and update AZURE_CLIENT_SECRET.",
    700027: "The certificate was not accepted for application {client_id}. Upload the certificate's "
            "public part to the app registration (Certificates & secrets) and check the file.",
    700016: "Application {client_id} was not found in tenant {tenant!r}. Check AZURE_CLIENT_ID and "
            "AZURE_TENANT_ID, or have an administrator add the application to that tenant.",
    7000218: "Application {client_id} is not allowed to sign people in without a secret. Turn on "
             "'Allow public client flows' on the app registration's Authentication page.",
    50059: "No tenant was given. Set AZURE_TENANT_ID: a service principal cannot use 'organizations'.",
    50076: "Your organization requires multi-factor authentication. Use the interactive or "
           "device-code sign-in.",
    50079: "Your organization requires you to register for multi-factor authentication. Sign in "
           "once at https://aka.ms/mfasetup, then use the interactive or device-code sign-in.",
    53003: "A Conditional Access policy blocked this sign-in. Ask your administrator which device "
           "or location is allowed.",
    50020: "Your account is not a member of tenant {tenant!r}. Use your own tenant's id, or ask to "
           "be invited as a guest.",
    50034: "That user account does not exist in tenant {tenant!r}.",
    70011: "The requested scope is not valid: {scopes}. Check FABRIC_LIVY_SCOPES.",
    500011: "Microsoft Fabric (https://api.fabric.microsoft.com) is not available in tenant "
            "{tenant!r}. Check the tenant, or ask an administrator to enable Fabric.",
    70008: "Your saved sign-in has expired. Sign in again with %livy login.",
    700082: "Your saved sign-in has expired after a long time unused. Sign in again with %livy login.",
    70000: "The device code was declined or is no longer valid. Run %livy login again.",
    70020: "The device code expired before anyone entered it. Run %livy login again.",
}
_ERROR_WORDS: dict[str, str] = {
    "invalid_tenant": _AADSTS_WORDS[90002],
    "expired_token": _AADSTS_WORDS[70020],
    "code_expired": _AADSTS_WORDS[70020],
    "authorization_declined": "The sign-in was declined in the browser. Run %livy login again.",
    "bad_verification_code": "The device code was not recognised. Run %livy login again.",
    "consent_required": _AADSTS_WORDS[65001],
    "invalid_client": "The application {client_id} did not accept the given credential. Check "
                      "AZURE_CLIENT_ID, the secret or certificate, and AZURE_TENANT_ID.",
    "unauthorized_client": "Application {client_id} may not use this sign-in method in tenant "
                           "{tenant!r}. Check the app registration's Authentication settings.",
    "invalid_scope": _AADSTS_WORDS[70011],
    "interaction_required": "Your saved sign-in needs you to sign in again. Run %livy login.",
    "invalid_grant": "Your saved sign-in is no longer valid. Sign in again with %livy login.",
    "temporarily_unavailable": "Microsoft Entra ID is temporarily unavailable. Try again in a minute.",
}


def auth_error_from_msal(result: Mapping[str, Any], *, settings: AuthSettings) -> AuthError:
    """Turn an MSAL error answer (``{"error": ..., "error_codes": [...]}``) into plain words."""
    words = {
        "tenant": settings.tenant_id,
        "host": settings.authority_host,
        "client_id": settings.client_id or "(no client id)",
        "scopes": " ".join(settings.effective_scopes()),
    }
    for code in result.get("error_codes") or ():
        try:
            template = _AADSTS_WORDS.get(int(code))
        except (TypeError, ValueError):
            continue
        if template:
            return AuthError(f"{template.format(**words)} (AADSTS{int(code)})")
    error = str(result.get("error") or "unknown_error")
    template = _ERROR_WORDS.get(error)
    if template:
        return AuthError(template.format(**words))
    description = str(result.get("error_description") or "").strip().splitlines()
    detail = f": {description[0][:300]}" if description else ""
    return AuthError(f"Sign-in failed ({error}){detail}")


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read WITHOUT verifying its signature (expiry and names, for display).

    Returns ``{}`` for tokens that are not JWTs (e.g. a plain shared secret for a local server).
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def account_from_claims(claims: Mapping[str, Any]) -> str | None:
    for key in ("upn", "preferred_username", "unique_name", "email", "appid", "azp", "oid", "sub"):
        if claims.get(key):
            return str(claims[key])
    return None


_REQUIRED_SHORT_SCOPES = tuple(scope.rsplit("/", 1)[1] for scope in FABRIC_DELEGATED_SCOPES)


def explain_fabric_denial(
    status_code: int,
    *,
    error_code: str | None = None,
    www_authenticate: str | None = None,
    token: str | None = None,
    method: str | None = None,
) -> str:
    """Plain words for a 401/403 from Fabric: the missing scope, or the missing workspace role.

    ``token`` (optional) is only decoded locally to read its ``scp``/``roles``/``aud`` claims.
    """
    claims = token_claims(token) if token else {}
    who = account_from_claims(claims) or "The signed-in identity"
    header = www_authenticate or ""
    asked = re.search(r'scope="([^"]+)"', header)
    granted = set(str(claims.get("scp", "")).split())
    is_app = method == "service-principal" or ("roles" in claims and "scp" not in claims)
    audience = str(claims.get("aud", ""))
    if audience and "fabric.microsoft.com" not in audience and "analysis.windows.net" not in audience:
        return (f"Fabric refused the token: it was issued for {audience!r}, not for "
                "https://api.fabric.microsoft.com. Sign in again with the Fabric scopes.")
    if status_code == 401:
        if (error_code or "").lower() == "tokenexpired" or 'error="invalid_token"' in header:
            return "Fabric refused the token as expired or invalid. Sign in again with %livy login."
        return ("Fabric did not accept the token (401). Sign in again with %livy login; check that "
                "the tenant is the one that owns the workspace.")
    missing: list[str] = []
    if asked:
        missing = [s for s in asked.group(1).split() if s.rsplit("/", 1)[-1] not in granted]
    elif granted and not is_app:
        missing = [s for s in _REQUIRED_SHORT_SCOPES if s not in granted]
    if missing:
        return (f"{who} lacks the delegated Fabric permission(s) {', '.join(missing)}. Add them to the "
                "app registration's API permissions, grant consent, then sign in again.")
    if is_app:
        return (f"{who} may not use this lakehouse (403). Add the service principal to the "
                "workspace as Contributor (or higher), and ask a Fabric administrator to allow "
                "service principals to use Fabric APIs.")
    return (f"{who} may not use this lakehouse (403{f' {error_code}' if error_code else ''}). "
            "Ask a workspace admin to give you the Contributor role (or higher) on the workspace.")
