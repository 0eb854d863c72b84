"""sgdcheck: the claims of SGD's implicit-bias theory as executable, falsifiable checks.

Public API, grouped:
- declaring claims and evidence: Claim, Source, Quote, Deviation, Threshold, Tolerance, Evidence,
  known_refutation, known_inconclusive
- statistics and verdicts: Verdict, Interval, mean_interval, binomial_interval, slope_interval,
  correlation_interval, within, at_most, at_least, effect, proportion, holds_for_all, equals, holds,
  precondition, combine
- headline numbers: Quantity, shown
- exact stability math: criterion, mean_square_rate, sharpness_nonuniformity,
  minibatch_second_moment, second_moment_operator, critical_lr, necessary_box
- scales: Scale, SCALES, get_scale
- errors: SgdcheckError and its subclasses
"""
from .claim import Claim, Deviation, Quote, Source, Threshold, Tolerance
from .errors import (ClaimDeclarationError, ClaimInconclusive, ClaimRefuted, InvalidArgumentError,
                     NegativeControlFailed, ReportError, SgdcheckError)
from .evidence import Evidence, known_inconclusive, known_refutation
from .scale import SCALES, Scale, get_scale
from .stability import (critical_lr, criterion, mean_square_rate, minibatch_second_moment, necessary_box,
                        second_moment_operator, sharpness_nonuniformity)
from .quantity import Quantity, shown
from .stats import (Interval, Verdict, at_least, at_margin, at_most, binomial_interval, combine, correlation_difference_interval,
                    correlation_interval, effect, equals, holds, holds_for_all, mean_interval, precondition,
                    proportion, slope_interval, within, within_group_correlation)

__version__ = "0.1.0"

__all__ = [
    # declaring claims and their evidence
    "Claim", "Source", "Quote", "Deviation", "Threshold", "Tolerance", "Evidence", "known_refutation", "known_inconclusive",
    # statistics and verdicts
    "Verdict", "Interval", "mean_interval", "binomial_interval", "slope_interval", "correlation_interval",
    "correlation_difference_interval", "within_group_correlation", "within", "at_most", "at_least", "at_margin", "effect", "proportion",
    "holds_for_all", "holds", "equals", "precondition", "combine",
    "Quantity", "shown",
    # exact stability math
    "criterion", "mean_square_rate", "sharpness_nonuniformity", "minibatch_second_moment",
    "second_moment_operator", "critical_lr", "necessary_box",
    # scales
    "Scale", "SCALES", "get_scale",
    # errors
    "SgdcheckError", "ClaimDeclarationError", "InvalidArgumentError", "ReportError",
    "ClaimRefuted", "ClaimInconclusive", "NegativeControlFailed",
]
