"""``tinydl.special``: the functions of ``torch.special`` that tinydl has, by torch's names.

Most are tinydl's own ops under another name (``expit`` is ``tinydl.sigmoid``, ``psi`` and
``digamma`` are ``tinydl.digamma``, ``gammaln`` is ``tinydl.lgamma``, ``multigammaln`` is
``tinydl.mvlgamma``); the ones torch keeps only here (``erfcx``, ``ndtr``, ``ndtri``,
``log_ndtr``, ``i0e``, ``i1``, ``i1e``, ``xlog1py``, ``entr``) are only here in tinydl too.
Definitions, gradients and edge values: tinydl/ops/special.py. SciPy spells most of them the
same (``scipy.special.ndtr``...).
"""
from tinydl.ops.activation import sigmoid as expit
from tinydl.ops.elementwise import erf
from tinydl.ops.math import exp2, expm1, log1p
from tinydl.ops.reduce import log_softmax, logsumexp, softmax
from tinydl.ops.rounding import round  # noqa: A004 (torch.special's name)
from tinydl.ops.special import (digamma, entr, erfc, erfcx, erfinv, gammaln, i0, i0e, i1, i1e,
                                log_ndtr, logit, multigammaln, ndtr, ndtri, polygamma, psi,
                                sinc, xlog1py, xlogy)

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit",
           "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
           "sinc", "softmax", "xlog1py", "xlogy"]
