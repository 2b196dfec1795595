"""Checks for the names SkyPanel hands to Easypanel, git and Traefik: git reference names and
repository paths, GitHub owners and repositories, OCI image references and URL paths. Each
returns a message for the user when the value is refused, `None` when it is fine."""

from __future__ import annotations

import re

_GIT_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_GITHUB_REPO = re.compile(r"^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
_URL_PATH = re.compile(r"^/(?:[A-Za-z0-9\-._~!$&*+,;=:@/]|%[0-9A-Fa-f]{2})*$")

# docker/distribution reference grammar (reference/regexp.go).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_IMAGE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::{_TAG})?(?:@{_DIGEST})?$"
)


def git_ref_problem(ref: str) -> str | None:
    """git check-ref-format's rules, plus no leading `-` (it would read as an option)."""
    if ref.startswith("-"):
        return "must not start with '-'"
    if _GIT_REF_FORBIDDEN.search(ref):
        return "must not contain spaces, control characters or any of ~ ^ : ? * [ \\"
    if ".." in ref or "@{" in ref or "//" in ref or ref == "@":
        return "must not contain '..', '@{' or '//', nor be '@'"
    if ref.startswith("/") or ref.endswith(("/", ".", ".lock")):
        return "must not start or end with '/', nor end with '.' or '.lock'"
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "no part may start with '.' or end with '.lock'"
    return None


def repository_path_problem(path: str) -> str | None:
    """A plain directory inside the repository: `/` is its root; no `..`, no option-like parts."""
    if not path.startswith("/"):
        return "must start with '/' (the repository root)"
    if re.search(r"[\x00-\x1f\x7f\\]", path):
        return "must not contain control characters or backslashes"
    parts = [part for part in path.split("/") if part]
    if any(part in (".", "..") for part in parts):
        return "must not contain '.' or '..' segments"
    if any(part.startswith("-") for part in parts):
        return "no part may start with '-'"
    return None


def github_owner_problem(owner: str) -> str | None:
    if _GITHUB_OWNER.fullmatch(owner):
        return None
    return "must be a GitHub user or organization name (letters, digits, single hyphens inside)"


def github_repo_problem(repo: str) -> str | None:
    if _GITHUB_REPO.fullmatch(repo):
        return None
    return "must be a GitHub repository name (letters, digits, '.', '-', '_')"


def image_problem(image: str) -> str | None:
    """An OCI image reference: `[registry[:port]/]path[:tag][@digest]`, lowercase path."""
    match = _IMAGE.fullmatch(image)
    if match is None:
        return 'must be an image reference like "nginx:1.27" or "ghcr.io/acme/app@sha256:…"'
    if len(match["name"]) > 255:
        return "the image name must be at most 255 characters"
    return None


def url_path_problem(path: str) -> str | None:
    """A URL path that is safe inside a Traefik rule: no backticks, parentheses, quotes, spaces."""
    if _URL_PATH.fullmatch(path):
        return None
    return (
        "must be a URL path starting with '/' (letters, digits, - . _ ~ ! $ & * + , ; = : @ /"
        " and %XX escapes)"
    )
