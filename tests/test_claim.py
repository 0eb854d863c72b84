import pytest

from sgdcheck import Claim, ClaimDeclarationError, Source, Tolerance


def test_a_complete_claim_describes_itself():
    claim = Claim(id="test2020.ok", source=Source("Test 2020", "Table 1"), statement="s", paper={"x": 1})
    assert claim.describe()["source"] == "Test 2020, Table 1"


def test_unknown_field_is_named():
    with pytest.raises(ClaimDeclarationError, match="unknown field.*colour"):
        Claim(id="test2020.bad", source=Source("T", "Fig 1"), statement="s", colour="red")


def test_claim_without_source_is_refused():
    with pytest.raises(ClaimDeclarationError, match="has no source"):
        Claim(id="test2020.nosource", statement="s")
    with pytest.raises(ClaimDeclarationError, match="work and a place"):
        Source("Test 2020", "")


def test_bad_ids_and_tolerances():
    with pytest.raises(ClaimDeclarationError, match="author2018.keyword"):
        Claim(id="NoDot", source=Source("T", "Fig 1"), statement="s")
    with pytest.raises(ClaimDeclarationError, match="rtol"):
        Tolerance(rtol=-1)


def test_one_id_cannot_carry_two_statements():
    Claim(id="test2020.twice", source=Source("T", "Fig 1"), statement="first")
    with pytest.raises(ClaimDeclarationError, match="declared twice"):
        Claim(id="test2020.twice", source=Source("T", "Fig 1"), statement="second")
