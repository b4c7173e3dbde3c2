"""How the two texts of an assessment become one vector for theme discovery."""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["combine_embeddings", "CombineMode"]

CombineMode = Literal["comment", "comment+ticket", "ticket"]


def combine_embeddings(
    comment_vecs: np.ndarray,
    ticket_vecs: np.ndarray,
    has_comment: np.ndarray,
    has_ticket: np.ndarray,
    mode: CombineMode = "comment+ticket",
    comment_weight: float = 0.7,
) -> np.ndarray:
    """One unit vector per assessment from its reviewer-comment and ticket embeddings.

    The reviewer comment comes first because it is the text that *describes the failure*
    ("agent closed the report without checking the linked profile"); the ticket text describes
    the user's problem, which says more about the policy area than about what went wrong. So
    ``"comment+ticket"`` takes ``comment_weight * comment + (1 - comment_weight) * ticket`` and
    re-normalises it: the ticket adds context (two identical comments on different kinds of
    report stay apart a little) without letting the ticket topic dominate the failure themes.
    Where one text is missing (empty after redaction) the other is used alone, so a row is never
    pulled towards the "empty string" point; where both are missing the row is all zeros, which
    the caller should drop or treat as an outlier.

    Parameters
    ----------
    comment_vecs, ticket_vecs : ndarray of shape (n, dim)
        Unit-norm embeddings of the reviewer comments and the ticket texts, row-aligned.
    has_comment, has_ticket : array-like of bool, shape (n,)
        Whether the row has a (non-empty) comment / ticket text.
    mode : {"comment", "comment+ticket", "ticket"}
        Which texts to use; with a single-text mode the other text is still the fallback for
        rows where the chosen one is missing.
    comment_weight : float in [0, 1]
        Weight of the comment in ``"comment+ticket"`` mode.

    Returns
    -------
    ndarray of shape (n, dim), float32
        L2-normalised combined vectors (zero rows where both texts are missing).

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[1.0, 0.0]]); t = np.array([[0.0, 1.0]])
    >>> combine_embeddings(c, t, [True], [True], "comment+ticket", 0.5).round(4)
    array([[0.7071, 0.7071]], dtype=float32)
    """
    comment_vecs = np.asarray(comment_vecs, dtype=np.float32)
    ticket_vecs = np.asarray(ticket_vecs, dtype=np.float32)
    has_comment = np.asarray(has_comment, dtype=bool).reshape(-1)
    has_ticket = np.asarray(has_ticket, dtype=bool).reshape(-1)
    if comment_vecs.ndim != 2 or comment_vecs.shape != ticket_vecs.shape:
        raise ValueError(
            f"comment_vecs {comment_vecs.shape} and ticket_vecs {ticket_vecs.shape} must be "
            "2-D arrays of the same shape"
        )
    n = comment_vecs.shape[0]
    if has_comment.shape[0] != n or has_ticket.shape[0] != n:
        raise ValueError(f"has_comment/has_ticket must have {n} entries, one per row")
    if mode not in ("comment", "comment+ticket", "ticket"):
        raise ValueError(f"mode must be 'comment', 'comment+ticket' or 'ticket', not {mode!r}")
    if not 0.0 <= comment_weight <= 1.0:
        raise ValueError(f"comment_weight must be within [0, 1], got {comment_weight}")

    if mode == "comment":
        w_c, w_t = 1.0, 0.0
    elif mode == "ticket":
        w_c, w_t = 0.0, 1.0
    else:
        w_c, w_t = float(comment_weight), 1.0 - float(comment_weight)
    wc = np.where(has_comment, w_c, 0.0)
    wt = np.where(has_ticket, w_t, 0.0)
    # a missing preferred text falls back to the other one at full weight
    only_ticket = has_ticket & ~(has_comment & (w_c > 0))
    only_comment = has_comment & ~(has_ticket & (w_t > 0))
    wt = np.where(only_ticket, 1.0, wt)
    wc = np.where(only_comment, 1.0, wc)
    out = wc[:, None] * comment_vecs + wt[:, None] * ticket_vecs
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out.astype(np.float32, copy=False)
