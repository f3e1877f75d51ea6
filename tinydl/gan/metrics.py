"""Sample-quality metrics on feature statistics: the Frechet distance (FID) and the Inception score.

Both work on arrays a feature extractor has already produced (Inception-v3 pool features and
class probabilities in the papers); tinydl ships no Inception network, so any embedding and
any classifier can be plugged in.
"""
import warnings

import numpy as np
from scipy import linalg

from tinydl.tensor import Tensor

# pytorch-fid's constants: the diagonal offset of the retry, and the tolerance on the imaginary
# part of sqrtm's diagonal below which it is taken as round-off.
_SQRTM_OFFSET = 1e-6
_IMAG_TOL = 1e-3


def _float_array(x, name, ndim, caller):
    a = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
    if ndim == 1:
        a = np.atleast_1d(a)
    else:
        a = np.atleast_2d(a)
    if a.ndim != ndim:
        raise ValueError(f"{caller}: {name} must be {ndim}-D, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{caller}: {name} contains NaN or inf")
    return a


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Frechet distance between N(mu1, S1) and N(mu2, S2), the basis of FID (Heusel et al. 2017).

    ``d^2 = ||mu1 - mu2||^2 + Tr S1 + Tr S2 - 2 Tr sqrtm(S1 S2)``, computed as pytorch-fid does:
    ``scipy.linalg.sqrtm`` of ``S1 S2``; if that is not finite (singular products), retry with
    ``S + 1e-6 I`` on both; if the root comes back complex, raise ValueError when its diagonal's
    imaginary part is not within 1e-3 of zero, otherwise keep the real part. (The trace equals
    that of ``(S2^(1/2) S1 S2^(1/2))^(1/2)``, the symmetric form in the notes.)
    ``mu1``, ``mu2`` are ``(D,)`` means, ``sigma1``, ``sigma2`` ``(D, D)`` covariances (arrays
    or Tensors). Returns a Python float.
    """
    mu1 = _float_array(mu1, "mu1", 1, "frechet_distance")
    mu2 = _float_array(mu2, "mu2", 1, "frechet_distance")
    sigma1 = _float_array(sigma1, "sigma1", 2, "frechet_distance")
    sigma2 = _float_array(sigma2, "sigma2", 2, "frechet_distance")
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError("frechet_distance: need mu1, mu2 of shape (D,) and sigma1, sigma2 of "
                         f"shape (D, D); got {mu1.shape}, {sigma1.shape}, {mu2.shape}, "
                         f"{sigma2.shape}")
    diff = mu1 - mu2
    # The first attempt is allowed to fail quietly (pytorch-fid's disp=False): a singular
    # product is what the retry is for.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)):
        offset = np.eye(d) * _SQRTM_OFFSET
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(np.diagonal(covmean).imag)
        if not np.all(imag <= _IMAG_TOL):
            raise ValueError("frechet_distance: sqrtm(sigma1 @ sigma2) has a diagonal imaginary "
                             f"part of {imag.max():.3g} (> {_IMAG_TOL}); are the covariances "
                             "symmetric positive semi-definite?")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def inception_score(probs, splits=10):
    """Inception score (Salimans et al. 2016): ``exp(mean_x KL(p(y|x) || p(y)))``, over splits.

    ``probs`` is ``(N, K)``: row ``x`` is a classifier's ``p(y|x)`` (non-negative, summing to 1).
    The rows are cut into ``splits`` consecutive chunks (as the reference code does); in each,
    ``p(y)`` is the chunk's mean row and the score is exp of the mean KL divergence, with
    ``0 log 0 = 0``. Uniform predictions give 1; confident one-hot predictions spread evenly
    over K classes give K, the maximum. Returns ``(mean, std)`` over the splits as floats.
    """
    p = _float_array(probs, "probs", 2, "inception_score")
    n = p.shape[0]
    if not isinstance(splits, (int, np.integer)) or not 1 <= splits <= n:
        raise ValueError(f"inception_score: splits must be an integer in [1, N={n}], "
                         f"got {splits!r}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("inception_score: each row of probs must be a probability vector "
                         "(non-negative, summing to 1)")
    scores = np.empty(splits)
    for k in range(splits):
        part = p[k * n // splits:(k + 1) * n // splits]
        p_y = part.mean(axis=0, keepdims=True)
        # Where p(y|x) = 0 the term is 0 (and p(y) may be 0 there too): mask before the log.
        pos = part > 0
        log_ratio = np.log(np.where(pos, part, 1.0)) - np.log(np.where(pos, p_y, 1.0))
        kl = np.sum(np.where(pos, part * log_ratio, 0.0), axis=1)
        scores[k] = np.exp(kl.mean())
    return float(scores.mean()), float(scores.std())
