import pytest

from sgdcheck import Claim, ClaimDeclarationError, Deviation, Quote, Source, Threshold, Tolerance

Q = Quote("the words of the source", "Sec. 1")


def test_a_complete_claim_describes_itself():
    claim = Claim(id="test2020.ok", source=Source("Test 2020", "Table 1"), quote=Q, statement="s", paper={"x": 1})
    assert claim.describe()["source"] == "Test 2020, Table 1"


def test_unknown_field_is_named():
    with pytest.raises(ClaimDeclarationError, match="unknown field.*colour"):
        Claim(id="test2020.bad", source=Source("T", "Fig 1"), quote=Q, statement="s", colour="red")


def test_claim_without_source_is_refused():
    with pytest.raises(ClaimDeclarationError, match="has no source"):
        Claim(id="test2020.nosource", statement="s")
    with pytest.raises(ClaimDeclarationError, match="work and a place"):
        Source("Test 2020", "")


def test_bad_ids_and_tolerances():
    with pytest.raises(ClaimDeclarationError, match="author2018.keyword"):
        Claim(id="NoDot", source=Source("T", "Fig 1"), quote=Q, statement="s")
    with pytest.raises(ClaimDeclarationError, match="rtol"):
        Tolerance(rtol=-1)


def test_one_id_cannot_carry_two_statements():
    Claim(id="test2020.twice", source=Source("T", "Fig 1"), quote=Q, statement="first")
    with pytest.raises(ClaimDeclarationError, match="declared twice"):
        Claim(id="test2020.twice", source=Source("T", "Fig 1"), quote=Q, statement="second")


def test_a_claim_without_a_quote_is_refused_at_import():
    with pytest.raises(ClaimDeclarationError, match="has no quote.*source's own words"):
        Claim(id="test2020.noquote", source=Source("T", "Fig 1"), statement="s")
    with pytest.raises(ClaimDeclarationError, match="quote must be a Quote"):
        Claim(id="test2020.badquote", source=Source("T", "Fig 1"), quote="words", statement="s")
    with pytest.raises(ClaimDeclarationError, match="where they stand"):
        Quote("words", "")


def test_deviations_and_thresholds_are_structured_and_named():
    claim = Claim(id="test2020.faithful", source=Source("T", "Table 2"), quote=Q, statement="s",
                  deviations=(Deviation("sizes", "widths 500 in the source, 100 here", "a 2-core CPU"),),
                  thresholds=(Threshold("ratio >= 0.8", "source", "Table 2's ratios are 0.95-1.0"),))
    described = claim.describe()
    assert described["quote"] == {"text": "the words of the source", "where": "Sec. 1"}
    assert described["deviations"] == [{"aspect": "sizes", "differs": "widths 500 in the source, 100 here",
                                        "why": "a 2-core CPU"}]
    assert described["thresholds"][0]["origin"] == "source"
    with pytest.raises(ClaimDeclarationError, match="aspect must be one of"):
        Deviation("colour", "red", "why not")
    with pytest.raises(ClaimDeclarationError, match="says how the test differs and why"):
        Deviation("sizes", "smaller", "")
    with pytest.raises(ClaimDeclarationError, match="origin must be one of"):
        Threshold("x", "guess", "felt right")
    with pytest.raises(ClaimDeclarationError, match="on which seeds it was confirmed"):
        Threshold("x <= 1.5", "tuned", "after the first run")
    with pytest.raises(ClaimDeclarationError, match="deviations must be a tuple of Deviation"):
        Claim(id="test2020.loose", source=Source("T", "Fig 1"), quote=Q, statement="s", deviations=("smaller",))


def test_every_claim_module_quotes_its_source_and_names_its_thresholds():
    """The claims of this repository: a quote each, and every deviation and threshold declared as data."""
    import ast
    from pathlib import Path

    modules = [path for path in sorted((Path(__file__).resolve().parents[1] / "claims").glob("*.py"))
               if path.name != "conftest.py"]                # the folder's pytest configuration, not a claim
    assert len(modules) >= 40
    for path in modules:
        tree = ast.parse(path.read_text())
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and getattr(node.func, "id", None) == "Claim"]
        assert calls, f"{path.name} declares no Claim"
        keywords = {k.arg for k in calls[0].keywords}
        assert {"quote", "deviations", "thresholds"} <= keywords, f"{path.name} lacks {{'quote', 'deviations', 'thresholds'}} - {keywords}"
