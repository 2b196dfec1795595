"""Issuing billing documents, and the billing profiles and tax rates they are built from.

A document is priced first (`_quotes`: `quote`, `quote_many`), then issued (`_issue`: `issue`,
`issue_quoted`, `issue_many`). `issue` is called by whoever charges, refunds or takes a top-up,
inside that transaction: the document exists exactly when the money moved. It never commits (the
unit of work does, see `skypanel.kit.uow`).
"""

from skypanel.invoices.service._issue import (
    Kind,
    ReferenceTaken,
    issue,
    issue_many,
    issue_quoted,
)
from skypanel.invoices.service._quotes import DocumentNotFound, Quote, quote, quote_many

__all__ = [
    "DocumentNotFound",
    "Kind",
    "Quote",
    "ReferenceTaken",
    "issue",
    "issue_many",
    "issue_quoted",
    "quote",
    "quote_many",
]
