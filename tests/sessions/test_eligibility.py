"""Eligibility rules (申报条件) evaluated as a pure function: every level of the default table,
met and not met, and prior certificates checked against the platform's record."""
from __future__ import annotations

import pytest

from exam.sessions import eligibility
from exam.sessions.eligibility import DEFAULT_RULES, Evidence, PriorCertificate, evaluate

ELECTRICIAN = "6-31-01-03"
HOLDER = "110105199003071234"


def run(level: int, lookup=eligibility.no_lookup, id_number=HOLDER, **evidence):
    return evaluate(DEFAULT_RULES[level], Evidence.from_dict(evidence), occupation_code=ELECTRICIAN,
                    occupation_name="电工", candidate_id_number=id_number, prior_certificate_lookup=lookup)


def prior(level: int, number="Y000111010001255000123", **kw):
    return {"prior_certificate_number": number, "prior_certificate_level": level, **kw}


# --- the default table, level by level ---------------------------------------------------------

@pytest.mark.parametrize("level, evidence, way", [
    (5, {"years_in_occupation": 1}, 0),
    (5, {"apprenticeship_completed": True}, 1),
    (4, {"years_in_occupation": 4, **prior(5)}, 0),
    (4, {"years_in_occupation": 6}, 1),
    (4, {"education": "technical_school"}, 2),
    (4, {"years_in_occupation": 4, **prior(4)}, 0),  # a higher certificate also counts
    (3, {"years_in_occupation": 5, **prior(4)}, 0),
    (3, {"education": "vocational_college", **prior(4)}, 1),
    (3, {"education": "bachelor", "education_in_field": True, "years_in_occupation": 2, **prior(4)}, 2),
    (2, {"years_in_occupation": 4, **prior(3)}, 0),
    (2, {"education": "senior_technical_school", "years_in_occupation": 3, **prior(3)}, 1),
    (2, {"preparatory_technician": True, "years_in_occupation": 2}, 2),
    (1, {"years_in_occupation": 4, **prior(2)}, 0),
])
def test_each_way_of_the_default_table_is_met(level, evidence, way):
    result = run(level, **evidence)
    assert result.eligible
    assert result.met_index == way
    assert all(c.ok for c in result.alternatives[way].conditions)


@pytest.mark.parametrize("level, evidence, failing", [
    (5, {"years_in_occupation": 0.5}, "years_short"),
    (5, {}, "years_missing"),
    (4, {"years_in_occupation": 5}, "years_short"),
    (4, {"years_in_occupation": 3, **prior(5)}, "years_short"),
    (4, {"education": "senior_secondary"}, "education_other"),
    (3, {"years_in_occupation": 5, **prior(5)}, "prior_too_low"),
    (3, {"years_in_occupation": 9}, "prior_none"),
    (3, {"education": "bachelor", "years_in_occupation": 2, **prior(4)}, "in_field_no"),
    (2, {"years_in_occupation": 3, **prior(3)}, "years_short"),
    (2, {"years_in_occupation": 2}, "preparatory_technician_no"),
    (1, {"years_in_occupation": 10, **prior(3)}, "prior_too_low"),
])
def test_each_level_says_which_condition_fails(level, evidence, failing):
    result = run(level, **evidence)
    assert not result.eligible and result.met_index is None
    codes = {c.code for a in result.alternatives for c in a.conditions if not c.ok}
    assert failing in codes
    for alternative in result.alternatives:
        for condition in alternative.conditions:
            assert eligibility.describe_result(condition.__dict__)  # every reason has words


def test_reasons_read_plainly():
    result = run(4, years_in_occupation=3, **prior(5))
    way = result.as_dict()["alternatives"][0]["conditions"]
    texts = [eligibility.describe_result(c) for c in way]
    assert "only 3 years in the occupation; at least 4 required" in texts
    assert any("as declared" in t for t in texts)


def test_a_certificate_level_without_its_number_does_not_count():
    result = run(4, years_in_occupation=4, prior_certificate_level=5)
    assert result.alternatives[0].conditions[0].code == "prior_missing_number"
    assert not result.alternatives[0].ok


def test_a_declared_certificate_of_another_occupation_does_not_count():
    result = run(4, years_in_occupation=4, **prior(5, prior_certificate_occupation="焊工"))
    assert result.alternatives[0].conditions[0].code == "prior_other_occupation"
    same = run(4, years_in_occupation=4, **prior(5, prior_certificate_occupation="电工（维修电工）"))
    assert same.alternatives[0].ok


# --- certificates issued on this platform ------------------------------------------------------------

def platform(**kw):
    record = PriorCertificate(**{"number": "Y000111010001255000123", "status": "valid", "level": 5,
                                 "occupation_code": ELECTRICIAN, "holder_id_number": HOLDER,
                                 "occupation_name": "电工", **kw})
    return lambda number: record if number == record.number else None


def test_a_valid_platform_certificate_is_verified_and_its_record_wins():
    result = run(4, lookup=platform(level=5), years_in_occupation=4, **prior(3))  # declared 3, record 5
    condition = result.alternatives[0].conditions[0]
    assert condition.ok and condition.source == "platform" and condition.code == "prior_ok_platform"
    assert condition.params["declared_level"] == 3
    assert result.met_index == 0


@pytest.mark.parametrize("record, code", [
    ({"status": "revoked"}, "prior_not_valid"),
    ({"holder_id_number": "440106198801011235"}, "prior_other_holder"),
    ({"occupation_code": "6-18-02-04", "occupation_name": "焊工"}, "prior_other_occupation"),
    ({"level": 5}, "prior_too_low"),
])
def test_a_platform_certificate_that_does_not_qualify_is_refused_with_the_reason(record, code):
    result = run(3, lookup=platform(**record), years_in_occupation=5, **prior(4))
    condition = result.alternatives[0].conditions[0]
    assert not condition.ok and condition.code == code and condition.source == "platform"
    assert eligibility.describe_result(condition.__dict__)


def test_a_verified_way_is_preferred_over_a_declared_one():
    rules = [[{"years": 6}], [{"prior_level": 5}, {"years": 4}]]
    evidence = Evidence.from_dict({"years_in_occupation": 7, **prior(5)})
    result = evaluate(rules, evidence, occupation_code=ELECTRICIAN, candidate_id_number=HOLDER,
                      prior_certificate_lookup=platform())
    assert result.met_index == 1


# --- rule sets as data -------------------------------------------------------------------------------

def test_the_default_table_is_valid_data():
    for level in DEFAULT_RULES:
        assert eligibility.validate_rules(DEFAULT_RULES[level]) == []


@pytest.mark.parametrize("rules", [
    [], [[]], [[{"years": 0}]], [[{"years": True}]], [[{"prior_level": 7}]], [[{"education": ["phd"]}]],
    [[{"apprenticeship": False}]], [[{"magic": 1}]], [[{"years": 1, "prior_level": 5}]], "nope",
])
def test_bad_rule_sets_are_refused(rules):
    assert eligibility.validate_rules(rules)


def test_the_form_asks_only_for_the_evidence_the_rules_read():
    assert eligibility.evidence_fields(DEFAULT_RULES[5]) == {"years_in_occupation", "apprenticeship_completed"}
    assert {"prior_certificate_number", "education", "education_in_field"} <= \
        eligibility.evidence_fields(DEFAULT_RULES[3])


def test_evidence_is_cleaned():
    evidence = Evidence.from_dict({"years_in_occupation": "4.56", "prior_certificate_number": " y0001 23 ",
                                   "prior_certificate_level": "9", "apprenticeship_completed": "是"})
    assert evidence.years_in_occupation == 4.6
    assert evidence.prior_certificate_number == "Y000123"
    assert evidence.prior_certificate_level is None
    assert evidence.apprenticeship_completed is True
    assert Evidence.from_dict({"years_in_occupation": "-1"}).years_in_occupation is None
    assert Evidence.from_dict({"years_in_occupation": "NaN"}).years_in_occupation is None
