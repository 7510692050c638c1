"""Request authentication: who is asking, and may they do this.

Every route declares one of three dependencies: `viewer` (signed in, any role),
`admin` (signed in as admin) or `controller` (admin, and for a session the CSRF
token of that session in `X-CSRF-Token`). Routes without one are public by intent.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from jobdeck.access import Accounts, Principal
from jobdeck.errors import AccessDenied, NotSignedIn

SESSION_COOKIE = "jobdeck_session"
CSRF_HEADER = "X-CSRF-Token"


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


async def viewer(request: Request) -> Principal:
    """The principal behind a Bearer token or, failing that, the session cookie."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        principal = await accounts_of(request).principal_for_token(credentials.strip())
    elif secret := request.cookies.get(SESSION_COOKIE):
        principal = await accounts_of(request).principal_for(secret)
    else:
        raise NotSignedIn("sign in first")
    request.state.principal = principal
    return principal


async def admin(principal: Annotated[Principal, Depends(viewer)]) -> Principal:
    if not principal.is_admin:
        raise AccessDenied("this needs the admin role")
    return principal


async def signed_in_with_csrf(
    request: Request, principal: Annotated[Principal, Depends(viewer)]
) -> Principal:
    """Any signed-in principal, for changes to one's own session."""
    check_csrf(request, principal)
    return principal


async def controller(
    request: Request, principal: Annotated[Principal, Depends(admin)]
) -> Principal:
    check_csrf(request, principal)
    return principal


def check_csrf(request: Request, principal: Principal) -> None:
    if principal.csrf_token is None:
        return  # a Bearer token: no browser attaches it by itself
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), principal.csrf_token.encode()):
        raise AccessDenied("missing or wrong CSRF token")


Viewer = Annotated[Principal, Depends(viewer)]
Admin = Annotated[Principal, Depends(admin)]
Controller = Annotated[Principal, Depends(controller)]
OwnSession = Annotated[Principal, Depends(signed_in_with_csrf)]
