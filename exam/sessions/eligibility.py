"""Eligibility (申报条件): the rules are data, the evaluation is a pure function.

A rule set is a list of *alternatives*; a candidate qualifies when every condition
of any one alternative holds. Each condition is a one-key mapping:

``{"years": 4}``                      at least 4 years in the occupation
``{"prior_level": 5}``                a level-5 certificate (or a higher level) in this occupation
``{"education": ["technical_school", …]}``  highest education is one of these
``{"in_field": true}``                the studies were in this or a related field
``{"apprenticeship": true}``          apprenticeship completed (学徒期满)
``{"preparatory_technician": true}``  holds a preparatory technician certificate (预备技师证书)

``DEFAULT_RULES`` is the typical national table; a body overrides it per level (and
optionally per occupation) with ``EligibilityPolicy`` rows.

A prior certificate issued on this platform is checked against the platform's
record (status, holder, occupation, level) through the ``prior_certificate_lookup``
callable; any other certificate counts as declared, to be checked by hand in the
national query service.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from flask_babel import gettext

from ..accounts.idnumbers import EDUCATION_LEVELS
from ..banks.levels import LEVEL_NAMES_ZH, level_label

CONDITION_KINDS = ("years", "prior_level", "education", "in_field", "apprenticeship",
                   "preparatory_technician")

_TECHNICAL_SCHOOL = ["technical_school", "senior_technical_school"]
_SENIOR_VOCATIONAL = ["senior_technical_school", "vocational_college"]
_COLLEGE = ["vocational_college", "bachelor"]

#: The typical table (DOMAIN.md, 申报条件); level → alternatives.
DEFAULT_RULES: dict[int, list[list[dict[str, Any]]]] = {
    5: [[{"years": 1}],
        [{"apprenticeship": True}]],
    4: [[{"prior_level": 5}, {"years": 4}],
        [{"years": 6}],
        [{"education": _TECHNICAL_SCHOOL}]],
    3: [[{"prior_level": 4}, {"years": 5}],
        [{"prior_level": 4}, {"education": _SENIOR_VOCATIONAL}],
        [{"education": _COLLEGE}, {"in_field": True}, {"prior_level": 4}, {"years": 2}]],
    2: [[{"prior_level": 3}, {"years": 4}],
        [{"prior_level": 3}, {"education": ["senior_technical_school"]}, {"years": 3}],
        [{"preparatory_technician": True}, {"years": 2}]],
    1: [[{"prior_level": 2}, {"years": 4}]],
}

#: The evidence field each condition reads (what the application form must ask for).
EVIDENCE_FOR = {
    "years": ("years_in_occupation",),
    "prior_level": ("prior_certificate_number", "prior_certificate_level",
                    "prior_certificate_occupation"),
    "education": ("education",),
    "in_field": ("education_in_field",),
    "apprenticeship": ("apprenticeship_completed",),
    "preparatory_technician": ("preparatory_technician",),
}
MAX_YEARS = 60


def default_rules(level: int) -> list[list[dict[str, Any]]]:
    """A copy of the default alternatives for ``level`` (empty for a level not in the table)."""
    return [[dict(c) for c in alternative] for alternative in DEFAULT_RULES.get(level, [])]


# --- evidence ----------------------------------------------------------------------

def _as_years(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        years = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if years.is_nan() or years < 0 or years > MAX_YEARS:
        return None
    return float(round(years, 1))


def _as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "on", "是", "有"}
    return bool(value)


def _as_text(value) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


@dataclass
class Evidence:
    """What a candidate declares in support of an application."""

    years_in_occupation: float | None = None
    education: str | None = None
    education_in_field: bool = False
    apprenticeship_completed: bool = False
    preparatory_technician: bool = False
    prior_certificate_number: str | None = None
    prior_certificate_level: int | None = None
    #: As declared: the occupation's code or name (empty means this session's occupation).
    prior_certificate_occupation: str | None = None

    @classmethod
    def from_dict(cls, data: dict | None) -> "Evidence":
        data = data or {}
        level = data.get("prior_certificate_level")
        try:
            level = int(level) if level not in (None, "") else None
        except (TypeError, ValueError):
            level = None
        number = _as_text(data.get("prior_certificate_number"))
        return cls(
            years_in_occupation=_as_years(data.get("years_in_occupation")),
            education=_as_text(data.get("education")),
            education_in_field=_as_bool(data.get("education_in_field")),
            apprenticeship_completed=_as_bool(data.get("apprenticeship_completed")),
            preparatory_technician=_as_bool(data.get("preparatory_technician")),
            prior_certificate_number=number.upper().replace(" ", "") if number else None,
            prior_certificate_level=level if level in LEVEL_NAMES_ZH else None,
            prior_certificate_occupation=_as_text(data.get("prior_certificate_occupation")),
        )

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PriorCertificate:
    """A certificate as the platform's own record has it."""

    number: str
    #: ``valid``, or e.g. ``revoked`` / ``superseded``: only ``valid`` counts.
    status: str
    level: int
    occupation_code: str | None = None
    holder_id_number: str | None = None
    occupation_name: str | None = None


PriorCertificateLookup = Callable[[str], "PriorCertificate | None"]


def no_lookup(number: str) -> PriorCertificate | None:
    return None


# --- results -------------------------------------------------------------------------

@dataclass
class ConditionResult:
    kind: str
    required: Any
    ok: bool
    #: ``platform`` when checked against the platform's records, else ``declared``.
    source: str
    #: Says what was found, for ``describe_result``.
    code: str
    params: dict = field(default_factory=dict)


@dataclass
class AlternativeResult:
    conditions: list[ConditionResult]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.conditions)


@dataclass
class Evaluation:
    alternatives: list[AlternativeResult]

    @property
    def met_index(self) -> int | None:
        """The alternative that is met (verified ones first), or None."""
        met = [i for i, a in enumerate(self.alternatives) if a.ok]
        if not met:
            return None
        verified = [i for i in met
                    if any(c.source == "platform" for c in self.alternatives[i].conditions)]
        return (verified or met)[0]

    @property
    def eligible(self) -> bool:
        return self.met_index is not None

    def as_dict(self) -> dict:
        return {
            "eligible": self.eligible,
            "met": self.met_index,
            "alternatives": [{"ok": a.ok, "conditions": [asdict(c) for c in a.conditions]}
                             for a in self.alternatives],
        }


# --- evaluation ----------------------------------------------------------------------

def _same_occupation(declared: str | None, code: str, name: str) -> bool:
    if not declared:
        return True
    declared = declared.strip().replace(" ", "")
    name = (name or "").replace(" ", "")
    return declared == code or (bool(name) and (name in declared or declared in name))


@dataclass
class _PriorCheck:
    #: ``none`` (nothing declared), ``platform`` (the platform's record) or ``declared``.
    source: str
    level: int | None = None
    problem: str | None = None
    params: dict = field(default_factory=dict)


def _check_prior_certificate(evidence: Evidence, *, occupation_code: str, occupation_name: str,
                             candidate_id_number: str | None,
                             lookup: PriorCertificateLookup) -> _PriorCheck:
    number = evidence.prior_certificate_number
    if not number and evidence.prior_certificate_level is None:
        return _PriorCheck("none")
    if not number:
        return _PriorCheck("declared", evidence.prior_certificate_level, "missing_number")
    record = lookup(number)
    params = {"number": number}
    if record is not None:
        params.update(level=record.level, status=record.status)
        if record.status != "valid":
            return _PriorCheck("platform", record.level, "not_valid", params)
        if candidate_id_number and record.holder_id_number and \
                record.holder_id_number.upper() != candidate_id_number.upper():
            return _PriorCheck("platform", record.level, "other_holder", params)
        if record.occupation_code and record.occupation_code != occupation_code:
            params["occupation"] = record.occupation_name or record.occupation_code
            return _PriorCheck("platform", record.level, "other_occupation", params)
        if evidence.prior_certificate_level not in (None, record.level):
            params["declared_level"] = evidence.prior_certificate_level
        return _PriorCheck("platform", record.level, None, params)
    if evidence.prior_certificate_level is None:
        return _PriorCheck("declared", None, "missing_level", params)
    params["level"] = evidence.prior_certificate_level
    if not _same_occupation(evidence.prior_certificate_occupation, occupation_code, occupation_name):
        params["occupation"] = evidence.prior_certificate_occupation
        return _PriorCheck("declared", evidence.prior_certificate_level, "other_occupation", params)
    return _PriorCheck("declared", evidence.prior_certificate_level, None, params)


def _condition(kind: str, required: Any, evidence: Evidence, prior: _PriorCheck) -> ConditionResult:
    if kind == "years":
        have = evidence.years_in_occupation
        params = {"have": have, "need": required}
        if have is None:
            return ConditionResult(kind, required, False, "declared", "years_missing", params)
        ok = have >= float(required)
        return ConditionResult(kind, required, ok, "declared", "years_ok" if ok else "years_short",
                               params)
    if kind == "prior_level":
        params = {"need": required, **prior.params}
        if prior.source == "none":
            return ConditionResult(kind, required, False, "declared", "prior_none", params)
        if prior.problem:
            return ConditionResult(kind, required, False, prior.source, f"prior_{prior.problem}",
                                   params)
        ok = prior.level is not None and prior.level <= int(required)
        code = ("prior_ok_" + prior.source) if ok else "prior_too_low"
        return ConditionResult(kind, required, ok, prior.source, code, params)
    if kind == "education":
        have = evidence.education
        params = {"have": have, "allowed": list(required)}
        if not have:
            return ConditionResult(kind, required, False, "declared", "education_missing", params)
        ok = have in required
        return ConditionResult(kind, required, ok, "declared",
                               "education_ok" if ok else "education_other", params)
    flags = {"in_field": evidence.education_in_field,
             "apprenticeship": evidence.apprenticeship_completed,
             "preparatory_technician": evidence.preparatory_technician}
    if kind in flags:
        ok = bool(flags[kind]) or not required
        return ConditionResult(kind, required, ok, "declared", f"{kind}_{'ok' if ok else 'no'}")
    return ConditionResult(kind, required, False, "declared", "unknown_condition", {"kind": kind})


def evaluate(rules: list[list[dict]], evidence: Evidence, *, occupation_code: str,
             occupation_name: str = "", candidate_id_number: str | None = None,
             prior_certificate_lookup: PriorCertificateLookup = no_lookup) -> Evaluation:
    """Which alternative of ``rules`` the evidence meets, and why each condition holds or not."""
    prior = _check_prior_certificate(evidence, occupation_code=occupation_code,
                                     occupation_name=occupation_name,
                                     candidate_id_number=candidate_id_number,
                                     lookup=prior_certificate_lookup)
    alternatives = []
    for alternative in rules:
        results = []
        for condition in alternative:
            (kind, required), = condition.items()
            results.append(_condition(kind, required, evidence, prior))
        alternatives.append(AlternativeResult(results))
    return Evaluation(alternatives)


# --- checking rule sets (the policy editor) ----------------------------------------

def validate_rules(rules: Any) -> list[str]:
    """Problems with a rule set, in words (empty when it is usable)."""
    if not isinstance(rules, list) or not rules:
        return [gettext("Give at least one way to qualify.")]
    problems = []
    for number, alternative in enumerate(rules, start=1):
        if not isinstance(alternative, list) or not alternative:
            problems.append(gettext("Way %(n)d has no conditions.", n=number))
            continue
        for condition in alternative:
            if not isinstance(condition, dict) or len(condition) != 1:
                problems.append(gettext("Way %(n)d: each condition names one requirement.", n=number))
                continue
            (kind, value), = condition.items()
            if kind not in CONDITION_KINDS:
                problems.append(gettext("Way %(n)d: unknown condition %(kind)s.", n=number, kind=kind))
            elif kind == "years" and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not 0 < value <= MAX_YEARS):
                problems.append(gettext("Way %(n)d: years must be between 1 and %(max)d.",
                                        n=number, max=MAX_YEARS))
            elif kind == "prior_level" and value not in LEVEL_NAMES_ZH:
                problems.append(gettext("Way %(n)d: the prior certificate level must be 1 to 5.",
                                        n=number))
            elif kind == "education" and (not isinstance(value, list) or not value
                                          or any(v not in EDUCATION_LEVELS for v in value)):
                problems.append(gettext("Way %(n)d: choose at least one known education level.",
                                        n=number))
            elif kind in ("in_field", "apprenticeship", "preparatory_technician") and value is not True:
                problems.append(gettext("Way %(n)d: %(kind)s can only be required.", n=number,
                                        kind=kind))
    return problems


def evidence_fields(rules: list[list[dict]]) -> set[str]:
    """The evidence fields the rules read (which questions the application form asks)."""
    wanted = {"years_in_occupation"}
    for alternative in rules:
        for condition in alternative:
            for kind in condition:
                wanted.update(EVIDENCE_FOR.get(kind, ()))
    return wanted


# --- words -----------------------------------------------------------------------------

def _education_label(code: str | None) -> str:
    return str(EDUCATION_LEVELS.get(code, code)) if code else "—"


def _education_list(codes) -> str:
    return gettext(" or ").join(_education_label(c) for c in codes)


def _years(value) -> str:
    if value is None:
        return "—"
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def describe_requirement(condition: dict) -> str:
    """One condition of a rule, in words."""
    (kind, value), = condition.items()
    if kind == "years":
        return gettext("at least %(n)s years in the occupation", n=_years(value))
    if kind == "prior_level":
        return gettext("a %(level)s certificate (or higher) in this occupation",
                       level=level_label(value))
    if kind == "education":
        return gettext("graduated from: %(list)s", list=_education_list(value))
    if kind == "in_field":
        return gettext("studies in this or a related field")
    if kind == "apprenticeship":
        return gettext("apprenticeship completed")
    if kind == "preparatory_technician":
        return gettext("a preparatory technician certificate")
    return kind


def describe_alternative(alternative: list[dict]) -> str:
    return gettext(" + ").join(describe_requirement(c) for c in alternative)


def describe_result(result: dict) -> str:
    """A stored condition result (``ConditionResult`` as a dict), in words."""
    code, p = result.get("code"), result.get("params") or {}
    need = result.get("required")
    if code == "years_ok":
        return gettext("%(have)s years in the occupation (at least %(need)s required)",
                       have=_years(p.get("have")), need=_years(p.get("need")))
    if code == "years_short":
        return gettext("only %(have)s years in the occupation; at least %(need)s required",
                       have=_years(p.get("have")), need=_years(p.get("need")))
    if code == "years_missing":
        return gettext("years in the occupation not given; at least %(need)s required",
                       need=_years(p.get("need")))
    number = p.get("number", "")
    level = level_label(p.get("level")) if p.get("level") else "—"
    need_level = level_label(need) if isinstance(need, int) else "—"
    messages = {
        "prior_ok_platform": lambda: gettext(
            "certificate %(number)s (%(level)s) verified on this platform", number=number, level=level),
        "prior_ok_declared": lambda: gettext(
            "certificate %(number)s (%(level)s) as declared: not issued on this platform, check it in "
            "the national query service", number=number, level=level),
        "prior_none": lambda: gettext("no prior certificate declared; %(need)s or higher required",
                                      need=need_level),
        "prior_missing_number": lambda: gettext("the prior certificate's number is missing"),
        "prior_missing_level": lambda: gettext("the level of certificate %(number)s was not given",
                                               number=number),
        "prior_not_valid": lambda: gettext(
            "certificate %(number)s is not valid on this platform (status: %(status)s)",
            number=number, status=p.get("status", "")),
        "prior_other_holder": lambda: gettext(
            "certificate %(number)s on this platform belongs to another person", number=number),
        "prior_other_occupation": lambda: gettext(
            "certificate %(number)s is for another occupation (%(occupation)s)",
            number=number, occupation=p.get("occupation", "")),
        "prior_too_low": lambda: gettext(
            "certificate %(number)s is %(level)s; %(need)s or higher required",
            number=number, level=level, need=need_level),
        "education_ok": lambda: gettext("education: %(have)s", have=_education_label(p.get("have"))),
        "education_other": lambda: gettext("education: %(have)s; required: %(allowed)s",
                                           have=_education_label(p.get("have")),
                                           allowed=_education_list(p.get("allowed", []))),
        "education_missing": lambda: gettext("education not given; required: %(allowed)s",
                                             allowed=_education_list(p.get("allowed", []))),
        "in_field_ok": lambda: gettext("studied this or a related field"),
        "in_field_no": lambda: gettext("the studies were not declared to be in this or a related field"),
        "apprenticeship_ok": lambda: gettext("apprenticeship completed"),
        "apprenticeship_no": lambda: gettext("no completed apprenticeship declared"),
        "preparatory_technician_ok": lambda: gettext("holds a preparatory technician certificate"),
        "preparatory_technician_no": lambda: gettext("no preparatory technician certificate declared"),
    }
    return messages[code]() if code in messages else str(code)
