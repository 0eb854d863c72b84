"""One root exception for everything sgdcheck rejects, with messages that say what was expected."""


class SgdcheckError(Exception):
    """Root of every error raised by sgdcheck on bad input or bad declarations."""


class ClaimDeclarationError(SgdcheckError, TypeError):
    """A claim module declares its claim wrongly (unknown field, no source, bad id)."""


class InvalidArgumentError(SgdcheckError, ValueError):
    """A numerical routine got an argument outside its domain (lr <= 0, batch > n, ...)."""


class ReportError(SgdcheckError):
    """Evidence or a report file cannot be written or read back."""


class CacheError(SgdcheckError):
    """The run cache cannot be used (its folder is not writable)."""


class ClaimOutcome(AssertionError):
    """Base of the outcomes that make a claim test fail; carries the verdict."""

    def __init__(self, claim_id: str, verdict: str, reason: str):
        self.claim_id, self.verdict, self.reason = claim_id, verdict, reason
        super().__init__(f"{claim_id}: {verdict}: {reason}")


class ClaimRefuted(ClaimOutcome):
    """The evidence contradicts the claim. Known refutations are strict xfails on this type."""


class ClaimInconclusive(ClaimOutcome):
    """The evidence neither supports nor contradicts the claim (preconditions or power failed)."""


class EvidenceNotConcluded(SgdcheckError, AssertionError):
    """A claim test took the evidence fixture but returned without concluding."""


class NegativeControlFailed(ClaimOutcome):
    """The negative control was not refuted: the check cannot tell a wrong prediction apart."""


class DataError(SgdcheckError, ValueError):
    """A data set is unknown, missing, or its files are corrupt."""
