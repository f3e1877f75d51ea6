"""First-order optimizers, learning-rate schedules, the LR range test and 2-D test surfaces.

One framework for every optimizer here (the course notes' view): at step t take the
gradient g_t, form a first moment m_t = phi(g_1..g_t) and a second moment
V_t = psi(g_1..g_t), and step by eta_t = alpha m_t / sqrt(V_t). The optimizers differ
only in phi and psi (eps keeps the division finite; mu momentum, tau dampening,
b1, b2 decay rates, S_0 the initial accumulator)::

    optimizer  first moment m_t = phi(g_1..g_t)              second moment V_t = psi(g_1..g_t)
    ---------  -------------------------------------------   ------------------------------------
    SGD        g_t                                            1
    momentum   b_t = mu b_{t-1} + (1 - tau) g_t,  b_1 = g_1   1
    Nesterov   g_t + mu b_t                                   1
    AdaGrad    g_t                                            S_0 + sum_{i<=t} g_i^2
    AdaDelta   g_t (U_{t-1} + eps), U = EMA_rho(step^2)       EMA_rho(g^2)_t + eps
    RMSProp    g_t                                            v_t = a v_{t-1} + (1 - a) g_t^2
                                                              (centered: v_t - gbar_t^2)
    Adam       m_t / (1 - b1^t),                              v_t / (1 - b2^t),
               m_t = b1 m_{t-1} + (1 - b1) g_t                v_t = b2 v_{t-1} + (1 - b2) g_t^2
    NAdam      mu_{t+1} m_t / (1 - prod_{i<=t+1} mu_i)        v_t / (1 - b2^t)
               + (1 - mu_t) g_t / (1 - prod_{i<=t} mu_i)
    AdamW      as Adam                                        as Adam; and theta *= 1 - alpha wd
    RAdam      m_t / (1 - b1^t)                               v_t / ((1 - b2^t) r_t^2) if rho_t > 5
                                                              else 1 (r_t rectifies the variance)
    Adamax     m_t / (1 - b1^t)                               u_t^2, u_t = max(b2 u_{t-1}, |g_t|+e)
    Rprop      sign(g_t), 0 after a sign flip                 1 / s_t^2, s_t *= eta+ (same sign) or
               (alpha = 1)                                    eta- (flip), clipped; s_0 = lr
    ASGD       g_t + lambd theta_t                            (lr / eta_t)^2,
               (ax_t: the mean of theta since t0)             eta_t = lr / (1 + lambd lr t)^a

(For AdaDelta, sqrt(V_t) means sqrt(EMA(g^2) + eps) and alpha = lr * sqrt(U_{t-1} + eps)
is per coordinate. SGD-family weight decay adds wd * theta to g_t first; Adam, AdaGrad,
RMSprop, AdaDelta, NAdam, RAdam, Adamax and ASGD do the same, AdamW decays the weights
directly, and so do Adam, NAdam and RAdam with ``decoupled_weight_decay=True``; Rprop and LBFGS
have no weight decay, as in torch.)

LBFGS is outside this table: a quasi-Newton method whose step applies an approximate inverse
Hessian (from the last ``history_size`` steps) to g, with an optional strong-Wolfe line
search; its ``step(closure)`` evaluates the loss several times.

Each class follows torch.optim's single-tensor update rule exactly; see its module for
the formulas. torch's keyword options work too: ``maximize=True`` (ascend: the gradient is
negated before the update) on every optimizer but LBFGS (as torch); ``foreach``, ``fused``
and ``capturable`` choose between torch implementations of the same arithmetic and are
accepted and ignored.
Parameters may come named, as ``model.named_parameters()`` gives them (the group then holds
``'param_names'``, as in torch). Gradient accumulation is described in ``tinydl.optim.optimizer``.
``swa_utils`` holds weight averaging (SWA, EMA), ``SWALR`` and ``update_bn``; ``lr_scheduler`` the
schedules, chainable as torch's (``SequentialLR``, ``ChainedScheduler``).
"""
from tinydl.optim import lr_scheduler, swa_utils, testfns
from tinydl.optim.adadelta import Adadelta
from tinydl.optim.adagrad import Adagrad
from tinydl.optim.adam import Adam, AdamW
from tinydl.optim.lr_finder import lr_finder, plot_lr_finder, suggest_lr
from tinydl.optim.nadam import NAdam
from tinydl.optim.optimizer import Optimizer
from tinydl.optim.rmsprop import RMSprop
from tinydl.optim.sgd import SGD
from tinydl.optim.adamax import Adamax
from tinydl.optim.asgd import ASGD
from tinydl.optim.lbfgs import LBFGS
from tinydl.optim.radam import RAdam
from tinydl.optim.rprop import Rprop

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam",
           "lr_scheduler", "testfns", "lr_finder", "suggest_lr", "plot_lr_finder", "swa_utils"]
__all__ += ["RAdam", "Adamax", "Rprop", "ASGD", "LBFGS"]
from tinydl.optim.adafactor import Adafactor
from tinydl.optim.muon import Muon

__all__ += ["Adafactor", "Muon"]
