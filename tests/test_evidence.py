import pytest

from sgdcheck import Claim, Quote, Source
from sgdcheck.errors import ClaimInconclusive, NegativeControlFailed
from sgdcheck.errors import InvalidArgumentError
from sgdcheck.evidence import Evidence, known_inconclusive, known_refutation, withheld
from sgdcheck.scale import get_scale
from sgdcheck.stats import holds, proportion

CLAIM = Claim(id="demo2020.evidence", source=Source("Demo 2020", "Eq. 1"), quote=Quote("it holds", "Eq. 1"),
              statement="it holds")
UNDECIDED = proportion(50, 100, low=0.5)


def _conclude(verdict, control):
    evidence = Evidence(None, get_scale("smoke"))
    return evidence.conclude(CLAIM, verdict, negative_control=("the rival", control), seeds=[0, 1, 2])


def test_an_undecided_claim_with_an_undecided_control_is_inconclusive_not_a_failed_control():
    with pytest.raises(ClaimInconclusive, match="undecided too"):
        _conclude(UNDECIDED, UNDECIDED)


@pytest.mark.parametrize("verdict", [holds(True, "main"), UNDECIDED])
def test_a_control_that_holds_fails_whatever_the_claim_says(verdict):
    with pytest.raises(NegativeControlFailed):
        _conclude(verdict, holds(True, "control"))


def test_a_decided_claim_needs_its_control_refuted():
    assert _conclude(holds(True, "main"), holds(False, "control")).verdict == "replicated"


@pytest.mark.parametrize("verdict", [holds(True, "main"), holds(False, "main")])
def test_a_decided_claim_with_an_undecided_control_is_inconclusive(verdict):
    evidence = Evidence(None, get_scale("smoke"))
    with pytest.raises(ClaimInconclusive, match="do not yet tell the claim from its rival"):
        evidence.conclude(CLAIM, verdict, negative_control=("the rival", UNDECIDED), seeds=[0, 1, 2])
    assert evidence.verdict is verdict           # the looks of a sequential design see the claim's own verdict
    entry = withheld(verdict, "the rival", UNDECIDED)
    assert entry.verdict == "inconclusive" and entry.parts == (verdict,)
    assert entry.margin_halfwidths == UNDECIDED.margin_halfwidths < 0     # how far the control is from deciding


def test_a_known_outcome_names_real_scales():
    with pytest.raises(InvalidArgumentError, match="names scales"):
        known_inconclusive("too few seeds", scales=("tiny",))
    with pytest.raises(InvalidArgumentError, match="must say why"):
        known_refutation(" ", scales=("smoke",))
