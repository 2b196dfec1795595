"""Every kind of event people are told about: its category, who hears of it, whether it is
critical (always emailed, whatever the preferences), and its words (Jinja, filled with the
event's data). The email layout around them is in `templates/`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["billing", "services", "account", "security"]
Audience = Literal["user", "managers", "address"]
"""`user`: the person the event is about; `managers`: the organization's owners and admins;
`address`: an email address that may have no account yet (an invitation, a new address)."""


@dataclass(frozen=True, slots=True)
class Kind:
    type: str
    category: Category
    audience: Audience
    subject: str
    body: str
    link: str | None = None
    action: str | None = None
    critical: bool = False
    secret: bool = False
    """Its data holds a one-time link token: kept only in the email until it is sent (never in
    the event, never in the panel's list)."""


KINDS: dict[str, Kind] = {
    kind.type: kind
    for kind in (
        Kind(
            "account.password_reset",
            "security",
            "user",
            "Reset your password",
            "Someone asked to reset the password of {{ email }}. The link works once and for"
            " {{ minutes }} minutes. If it was not you, ignore this message: nothing changes.",
            "/reset-password?token={{ token }}",
            "Choose a new password",
            critical=True,
            secret=True,
        ),
        Kind(
            "account.email_verification",
            "security",
            "user",
            "Confirm your email address",
            "Confirm {{ email }} to add funds and deploy. The link works for {{ hours }} hours.",
            "/verify-email?token={{ token }}",
            "Confirm the address",
            critical=True,
            secret=True,
        ),
        Kind(
            "account.email_change",
            "security",
            "address",
            "Confirm your new email address",
            "You asked to sign in with {{ new_email }} from now on. Confirm it with the link"
            " below (it works for {{ hours }} hours); until then {{ old_email }} stays.",
            "/verify-email?token={{ token }}",
            "Confirm the new address",
            critical=True,
            secret=True,
        ),
        Kind(
            "organization.invitation",
            "account",
            "address",
            "{{ inviter }} invited you to {{ organization }}",
            "{{ inviter }} invited you to join {{ organization }} as {{ role }} on {{ panel }}."
            " The invitation works for {{ days }} days.",
            "/invitations/accept?token={{ token }}",
            "Accept the invitation",
            critical=True,
            secret=True,
        ),
        Kind(
            "subscription.renewal_reminder",
            "billing",
            "managers",
            "Your {{ plan }} plan renews on {{ renews_on }}",
            "{{ amount }} will be charged from your wallet on {{ renews_on }}."
            "{% if covered %} Your balance of {{ balance }} covers it.{% else %} Your balance of"
            " {{ balance }} does not cover it: add funds before then.{% endif %}",
            "/wallet",
            "Open the wallet",
        ),
        Kind(
            "wallet.low_balance",
            "billing",
            "managers",
            "Your wallet covers your plan until {{ until }}",
            "At {{ amount }} a month, your balance of {{ balance }} lasts until {{ until }}.",
            "/wallet#add-funds",
            "Add funds",
        ),
        Kind(
            "subscription.renewed",
            "billing",
            "managers",
            "Your {{ plan }} plan was renewed",
            "{{ amount }} was charged from your wallet for {{ period }}.",
            "/billing",
            "See the billing history",
        ),
        Kind(
            "subscription.renewal_failed",
            "billing",
            "managers",
            "Your {{ plan }} plan could not be renewed",
            "The renewal needs {{ amount }} and your wallet holds {{ balance }}. Your services"
            " keep running until {{ grace_until }}; add funds before then to keep them.",
            "/wallet#add-funds",
            "Add funds",
            critical=True,
        ),
        Kind(
            "subscription.suspension_tomorrow",
            "billing",
            "managers",
            "Your services stop tomorrow",
            "The renewal of your {{ plan }} plan is still unpaid. On {{ grace_until }} your"
            " services are stopped unless {{ amount }} is in your wallet.",
            "/wallet#add-funds",
            "Add funds",
            critical=True,
        ),
        Kind(
            "subscription.suspended",
            "billing",
            "managers",
            "Your services were stopped",
            "The renewal of your {{ plan }} plan stayed unpaid, so your services were stopped."
            " Add {{ amount }} to start them again; they are deleted on {{ terminates_on }}"
            " otherwise.",
            "/wallet#add-funds",
            "Add funds",
            critical=True,
        ),
        Kind(
            "subscription.resumed",
            "billing",
            "managers",
            "Your services are running again",
            "Your {{ plan }} plan was paid and your services were started again.",
            "/",
            "Open the dashboard",
        ),
        Kind(
            "subscription.plan_changed",
            "billing",
            "managers",
            "You switched to {{ plan }}",
            "Your subscription moved from {{ previous }} to {{ plan }}.",
            "/billing",
            "See the billing history",
        ),
        Kind(
            "subscription.cancelled",
            "billing",
            "managers",
            "Your subscription was cancelled",
            "Your {{ plan }} plan ended and its services were deleted.{% if refund %}"
            " {{ refund }} for the unused part went back to your wallet.{% endif %}",
            "/plans",
            "See the plans",
        ),
        Kind(
            "subscription.termination_warning",
            "billing",
            "managers",
            "Your services will be deleted on {{ terminates_on }}",
            "Your {{ plan }} plan has been suspended since {{ suspended_on }}. On"
            " {{ terminates_on }} its projects and services are deleted for good unless"
            " {{ amount }} is in your wallet.",
            "/wallet#add-funds",
            "Add funds",
            critical=True,
        ),
        Kind(
            "subscription.terminated",
            "billing",
            "managers",
            "Your services were deleted",
            "Your {{ plan }} plan stayed unpaid for {{ days }} days, so it was terminated and its"
            " projects and services were deleted.",
            "/plans",
            "See the plans",
            critical=True,
        ),
        Kind(
            "service.deploy_failed",
            "services",
            "managers",
            "{{ service }} failed to deploy",
            "{{ service }} in {{ project }} did not deploy: {{ reason }}",
            "/projects/{{ project }}/services/{{ service }}",
            "Open the service",
        ),
        Kind(
            "service.crash_looping",
            "services",
            "managers",
            "{{ service }} keeps crashing",
            "{{ service }} in {{ project }} keeps stopping and being restarted (since {{ since }});"
            " its logs say why.",
            "/projects/{{ project }}/services/{{ service }}",
            "Open the service",
        ),
        Kind(
            "webhook.endpoint_disabled",
            "account",
            "managers",
            "Webhook endpoint {{ url }} was turned off",
            "Deliveries to {{ url }} kept failing for {{ days }} days (last: {{ reason }}), so the"
            " endpoint was turned off. Fix it, then turn it on again; nothing is sent meanwhile.",
            "/webhooks",
            "Open the webhooks",
            critical=True,
        ),
        Kind(
            "quota.warning",
            "services",
            "managers",
            "You use {{ percent }} % of your {{ resource }}",
            "Your services use {{ used }} of the {{ limit }} your {{ plan }} plan allows.",
            "/usage",
            "See the usage",
        ),
    )
}
