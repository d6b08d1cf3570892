"""The full observed information of the item parameters by Louis's (1982) identity (private).

    I = Σ_i E_i[−∇² log f(x_i, θ)] − Σ_i Cov_i[∇ log f(x_i, θ)]

with posterior moments ``E_i``, ``Cov_i`` over the quadrature nodes.  Given θ the items are independent,
so the first term is block diagonal (``H`` of :func:`reading_tests._em.observed_terms`).  The complete-data
score of student ``i`` at node ``q`` is ``S_iq = Σ_j g^{x_ij}_j(θ_q)`` (``g¹ = ∇ log P``, ``g⁰ = ∇ log Q``,
each in item ``j``'s own coordinates), so

    Σ_i E_i[S Sᵀ]_(j,k) = Σ_q Σ_{u,v ∈ {0,1}} g^u_j(θ_q) g^v_k(θ_q)ᵀ M^{uv}_{jk}(q),
    M^{uv}_{jk}(q) = Σ_i π_iq [x_ij = u] [x_ik = v],

three weighted Gram products of the response indicators per node, and ``Σ_i ē_i ē_iᵀ`` with
``ē_i = E_i S`` one more product.  The per-item ("block") method keeps only the ``j = k`` blocks; this
module keeps them all, so it is the exact observed information (up to quadrature), not an approximation.
Cost ≈ 3 · N · J² · Q multiply-adds (N · J² · Q for complete data, where ``x⁰ = 1 − x¹``), memory 3 · J² · Q.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from reading_tests._em import Design
from reading_tests.irt import FloatArray

CHUNK_BYTES = 64_000_000


def item_information(
    design: Design,
    post: NDArray[np.floating[Any]],
    h: FloatArray,
    g1: FloatArray,
    g0: FloatArray,
) -> FloatArray:
    """Observed information over all items' parameters, shape (J, k, J, k).

    ``h`` (J × k × k): expected complete-data information per item; ``g1``, ``g0`` (J × Q × k): node scores.
    """
    jn, qn, k = g1.shape
    n = post.shape[0]
    m11 = np.zeros((jn, jn, qn))
    m10 = np.zeros((jn, jn, qn))
    m00 = np.zeros((jn, jn, qn))
    ete = np.zeros((jn * k, jn * k))
    flat1 = g1.transpose(1, 0, 2).reshape(qn, jn * k)
    flat0 = g0.transpose(1, 0, 2).reshape(qn, jn * k)
    # complete data: x⁰ = 1 − x¹, so M¹⁰ and M⁰⁰ follow from M¹¹, r¹ = X¹ᵀπ and the node masses
    complete = design.correct.nnz + design.incorrect.nnz == n * jn
    r1 = np.zeros((jn, qn))
    mass = np.zeros(qn)
    chunk = max(1, CHUNK_BYTES // (8 * jn * qn))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        x1 = design.correct[start:stop].toarray().astype(np.float64)
        x0 = design.incorrect[start:stop].toarray().astype(np.float64)
        pc = np.asarray(post[start:stop], dtype=np.float64)
        y1 = (x1[:, :, None] * pc[:, None, :]).reshape(stop - start, jn * qn)
        m11 += (x1.T @ y1).reshape(jn, jn, qn)
        if complete:
            r1 += x1.T @ pc
            mass += pc.sum(axis=0)
        else:
            y0 = (x0[:, :, None] * pc[:, None, :]).reshape(stop - start, jn * qn)
            m10 += (x1.T @ y0).reshape(jn, jn, qn)
            m00 += (x0.T @ y0).reshape(jn, jn, qn)
        e = x1[:, :, None] * (pc @ flat1).reshape(-1, jn, k) + x0[:, :, None] * (pc @ flat0).reshape(
            -1, jn, k
        )
        e2 = e.reshape(stop - start, jn * k)
        ete += e2.T @ e2
    if complete:
        m10 = r1[:, None, :] - m11
        m00 = mass[None, None, :] - r1[:, None, :] - r1[None, :, :] + m11
    outer = np.einsum("jqa,kqb,jkq->jakb", g1, g1, m11, optimize=True)
    outer += np.einsum("jqa,kqb,jkq->jakb", g1, g0, m10, optimize=True)
    outer += np.einsum("jqa,kqb,kjq->jakb", g0, g1, m10, optimize=True)  # M⁰¹_jk = M¹⁰_kj
    outer += np.einsum("jqa,kqb,jkq->jakb", g0, g0, m00, optimize=True)
    info = -(outer - ete.reshape(jn, k, jn, k))
    idx = np.arange(jn)
    info[idx, :, idx, :] += h
    return np.asarray(info, dtype=float)


def packed_information(
    info: FloatArray, free_idx: np.ndarray, model: str, rasch: bool, three: bool
) -> FloatArray:
    """Map the (J, k, J, k) item information onto the packed free parameters of the calibration.

    Packing (see ``_Problem.pack``): 2PL/3PL ``[a…, d…(, γ…)]``; 1PL ``[a_common, d…]``; Rasch ``[d…]``.
    With ``φ = Tᵀ ψ`` (item coordinates from packed ones) the packed information is ``T I Tᵀ``.
    """
    jn, k = info.shape[0], info.shape[1]
    nf = free_idx.size
    n_par = nf + (0 if rasch else 1) if model == "1pl" else nf * (3 if three else 2)
    t = np.zeros((n_par, jn * k))
    for m, j in enumerate(free_idx.tolist()):
        if model == "1pl":
            off = 0 if rasch else 1
            if not rasch:
                t[0, j * k + 0] = 1.0
            t[off + m, j * k + 1] = 1.0
        else:
            for a in range(3 if three else 2):
                t[a * nf + m, j * k + a] = 1.0
    flat = info.reshape(jn * k, jn * k)
    out = t @ flat @ t.T
    return np.asarray((out + out.T) / 2.0, dtype=float)
