"""Catalogue of policy areas and failure modes the generator draws from.

A failure mode is what QA reviewers write about when an assessment fails: it has a policy-area
affinity, a root-cause category (the ids of ``configs/root_causes.yaml``), a severity that sets
the score range, and its English wordings from :mod:`._phrases`. Reserved modes are never drawn as
background; they exist so that planted themes are the only source of their records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ._phrases import EN_FAILURE_WORDINGS

__all__ = [
    "POLICY_AREAS", "ROOT_CAUSE_CATEGORIES", "FailureMode", "FAILURE_MODES", "AreaSpec",
    "AREA_SPECS",
]


@dataclass(frozen=True)
class AreaSpec:
    """How one policy area shows up in tickets and comments."""

    name: str
    words: str                      # as reviewers name it in a comment ("bullying guideline 2.3")
    section: int                    # guideline chapter number
    weight: float                   # share of incoming reports
    escalation_queue: str           # where a case that needs escalation goes
    harms: tuple[str, ...]          # what the user described, for {harm}
    pii_kinds: tuple[str, ...]      # personal data users put in this kind of report


AREA_SPECS: Mapping[str, AreaSpec] = MappingProxyType({
    "bullying_harassment": AreaSpec(
        "Bullying & harassment", "bullying", 2, 0.17, "safety-specialists",
        ("ongoing targeted harassment", "repeated threats from an ex", "a pile-on by classmates"),
        ("handle", "url", "phone")),
    "hate_speech": AreaSpec(
        "Hate speech", "hate speech", 3, 0.10, "safety-specialists",
        ("slurs against a religious group", "dehumanising posts about migrants"),
        ("handle", "url")),
    "child_safety": AreaSpec(
        "Child safety", "child safety", 1, 0.06, "child-safety-priority",
        ("an adult asking a minor for pictures", "possible grooming of a 12-year-old",
         "a minor at risk"),
        ("handle", "url", "email")),
    "sexual_exploitation": AreaSpec(
        "Sexual exploitation", "sexual exploitation", 4, 0.05, "child-safety-priority",
        ("sextortion", "intimate images shared without consent"),
        ("handle", "url", "email")),
    "violent_graphic": AreaSpec(
        "Violent & graphic content", "graphic violence", 5, 0.06, "safety-specialists",
        ("graphic injury footage", "animal cruelty video"), ("url",)),
    "self_harm_suicide": AreaSpec(
        "Suicide & self-harm", "self-harm", 6, 0.07, "self-harm-priority",
        ("suicidal intent", "a live stream of self-injury", "a plan to end their life tonight"),
        ("handle", "phone")),
    "dangerous_acts": AreaSpec(
        "Dangerous acts", "dangerous acts", 7, 0.04, "safety-specialists",
        ("a choking challenge copied by children", "a dangerous stunt trend"), ("url", "handle")),
    "violent_extremism": AreaSpec(
        "Violent extremism", "violent extremism", 8, 0.03, "safety-specialists",
        ("a specific threat to attack a rally", "recruitment for an armed group"),
        ("url", "handle")),
    "scams_fraud": AreaSpec(
        "Scams & fraud", "scams", 9, 0.16, "scams",
        ("a payment scam", "a fake investment scheme", "an OTP phishing attempt"),
        ("url", "card", "account", "phone", "email")),
    "account_security": AreaSpec(
        "Account security", "account security", 10, 0.11, "account-recovery",
        ("an account takeover", "a hacked account posting scam links"),
        ("email", "ip", "phone")),
    "privacy_doxxing": AreaSpec(
        "Privacy & doxxing", "privacy", 11, 0.06, "privacy-requests",
        ("their home address posted publicly", "doxxing with workplace details"),
        ("phone", "email", "handle")),
    "impersonation": AreaSpec(
        "Impersonation", "impersonation", 12, 0.05, "safety-reports",
        ("a fake profile using their photos", "someone impersonating their business"),
        ("handle", "url")),
    "other": AreaSpec(
        "Other", "community guidelines", 13, 0.04, "safety-reports",
        ("spam", "misinformation"), ("handle", "url")),
})

#: Policy-area id -> display name; ids match ``configs/policy_areas.yaml``.
POLICY_AREAS: Mapping[str, str] = MappingProxyType({k: v.name for k, v in AREA_SPECS.items()})

#: Root-cause category id -> display name; ids match ``configs/root_causes.yaml``.
ROOT_CAUSE_CATEGORIES: Mapping[str, str] = MappingProxyType({
    "policy_guidance_gap": "Policy guidance gap",
    "process_workflow": "Process / workflow",
    "tooling_macro_template": "Tooling / macro / template",
    "training_knowledge": "Training / knowledge",
    "product_system_defect": "Product or system defect",
    "translation_localisation": "Translation / localisation",
})


@dataclass(frozen=True)
class FailureMode:
    """One kind of handling failure that QA reviewers write about.

    Attributes
    ----------
    id, label : str
        Stable id and a short human label.
    category : str
        Root-cause category id (a key of :data:`ROOT_CAUSE_CATEGORIES`).
    areas : Mapping[str, float]
        Policy-area affinity: relative weight of each area in which this failure happens.
    weight : float
        Relative frequency among background failures.
    severity : int
        1 minor, 2 major, 3 critical; sets the qa_score range of a failed assessment.
    reserved : bool
        Used only by planted themes, never as background.
    requires : str or None
        ``"non_english"``: only happens on tickets not written in English.
    wordings : tuple of str
        English comment templates (see :mod:`._phrases`).
    """

    id: str
    label: str
    category: str
    areas: Mapping[str, float]
    weight: float = 1.0
    severity: int = 2
    reserved: bool = False
    requires: str | None = None
    wordings: tuple[str, ...] = field(default=(), repr=False)


_ALL = {a: 1.0 for a in AREA_SPECS}


def _mode(id_: str, label: str, category: str, areas: Mapping[str, float], **kw) -> FailureMode:
    return FailureMode(id_, label, category, MappingProxyType(dict(areas)),
                       wordings=EN_FAILURE_WORDINGS[id_], **kw)


_MODES = (
    _mode("missed_escalation", "Missed escalation", "process_workflow",
          {"child_safety": 4, "self_harm_suicide": 3, "sexual_exploitation": 3,
           "violent_extremism": 3, "dangerous_acts": 1, "bullying_harassment": 1},
          weight=1.6, severity=3),
    _mode("wrong_policy_applied", "Wrong policy applied", "training_knowledge",
          {"hate_speech": 3, "bullying_harassment": 3, "impersonation": 2, "violent_graphic": 2,
           "other": 2, "dangerous_acts": 1}, weight=1.3),
    _mode("wrongly_closed_no_violation", "Closed as no-violation wrongly", "policy_guidance_gap",
          {"bullying_harassment": 4, "hate_speech": 3, "privacy_doxxing": 2, "impersonation": 2,
           "violent_graphic": 1}, weight=1.6),
    _mode("wrong_macro", "Wrong macro / template", "tooling_macro_template", _ALL, weight=1.4,
          severity=1),
    _mode("robotic_tone", "No empathy / robotic tone", "training_knowledge",
          {"self_harm_suicide": 3, "bullying_harassment": 3, "child_safety": 2,
           "sexual_exploitation": 2, "scams_fraud": 2, "privacy_doxxing": 1},
          weight=1.4, severity=1),
    _mode("unnecessary_personal_info", "Asked user for unnecessary personal info",
          "process_workflow",
          {"account_security": 3, "privacy_doxxing": 2, "scams_fraud": 2, "impersonation": 2}),
    _mode("no_ownership_verification", "Did not verify account ownership", "process_workflow",
          {"account_security": 5, "impersonation": 2}, severity=3),
    _mode("sla_breach", "Slow first response / SLA breach", "process_workflow",
          {**_ALL, "child_safety": 3, "self_harm_suicide": 3}, weight=1.2, severity=1),
    _mode("no_self_harm_resources", "Did not provide self-harm resources", "training_knowledge",
          {"self_harm_suicide": 1}, weight=3.5, severity=3),
    _mode("over_enforcement", "Incorrect enforcement action (over-enforcement)",
          "policy_guidance_gap",
          {"hate_speech": 3, "violent_graphic": 3, "dangerous_acts": 2, "other": 2,
           "bullying_harassment": 1}),
    _mode("under_enforcement", "Enforcement too lenient (under-enforcement)",
          "policy_guidance_gap",
          {"bullying_harassment": 2, "hate_speech": 2, "sexual_exploitation": 2,
           "violent_extremism": 2, "scams_fraud": 1}),
    _mode("no_follow_up", "No follow-up", "process_workflow", _ALL, severity=1),
    _mode("language_mismatch", "Language mismatch in reply", "translation_localisation", _ALL,
          weight=0.9, requires="non_english"),
    _mode("evidence_not_preserved", "Did not preserve evidence", "process_workflow",
          {"child_safety": 3, "sexual_exploitation": 3, "violent_extremism": 2, "scams_fraud": 1},
          weight=0.8, severity=3),
    _mode("overpromised_outcome", "Promised an outcome we cannot guarantee",
          "training_knowledge",
          {"scams_fraud": 4, "account_security": 2, "privacy_doxxing": 1, "impersonation": 1},
          weight=0.9, severity=1),
    _mode("wrong_queue_transfer", "Transferred to the wrong queue", "process_workflow", _ALL,
          weight=0.9),
    _mode("incomplete_investigation", "Did not review the full context", "training_knowledge",
          {"bullying_harassment": 3, "hate_speech": 2, "impersonation": 2, "scams_fraud": 1,
           "child_safety": 1}),
    _mode("disclosed_reporter_identity", "Revealed the reporter's identity", "training_knowledge",
          {"bullying_harassment": 2, "privacy_doxxing": 2, "hate_speech": 1},
          weight=0.5, severity=3),
    _mode("incorrect_appeal_decision", "Wrong appeal decision", "policy_guidance_gap", _ALL,
          weight=0.7),
    _mode("no_emergency_referral", "Imminent threat not referred to emergency services",
          "process_workflow",
          {"violent_extremism": 3, "self_harm_suicide": 3, "child_safety": 2, "dangerous_acts": 1},
          weight=0.6, severity=3),
    _mode("copy_paste_error", "Copy/paste error in reply", "training_knowledge", _ALL,
          weight=0.6, severity=1),
    _mode("missing_safety_tips", "Did not share safety / blocking tips", "tooling_macro_template",
          {"bullying_harassment": 3, "privacy_doxxing": 2, "scams_fraud": 2,
           "impersonation": 1}, weight=0.8, severity=1),
    _mode("internal_jargon", "Internal jargon in reply", "training_knowledge", _ALL,
          weight=0.5, severity=1),
    _mode("enforcement_not_applied", "Enforcement action did not apply (tool error)",
          "product_system_defect",
          {"bullying_harassment": 1, "hate_speech": 1, "impersonation": 1, "scams_fraud": 1,
           "violent_graphic": 1, "other": 1}, weight=0.6),
    _mode("duplicate_reports_not_linked", "Duplicate reports not linked",
          "tooling_macro_template",
          {"bullying_harassment": 2, "scams_fraud": 2, "impersonation": 2, "hate_speech": 1},
          weight=0.6),
    # Reserved: the sources of planted themes.
    _mode("scam_refund_macro_to_victims", "Refund / payment-link macro sent to scam victims",
          "tooling_macro_template", {"scams_fraud": 1}, severity=3, reserved=True),
    _mode("minor_asked_for_id_photo", "Agent asked a minor for an ID photo", "process_workflow",
          {"account_security": 2, "child_safety": 1}, severity=3, reserved=True),
    _mode("auto_translate_garbled_resources", "Auto-translate garbled the safety resources",
          "translation_localisation", {"self_harm_suicide": 1}, severity=3, reserved=True,
          requires="non_english"),
    _mode("satire_misapplied_new_policy", "New policy version misapplied to satire",
          "policy_guidance_gap", {"hate_speech": 2, "bullying_harassment": 1, "other": 1},
          reserved=True),
)

#: Failure-mode id -> :class:`FailureMode`; >= 20 background modes plus the reserved ones.
FAILURE_MODES: Mapping[str, FailureMode] = MappingProxyType({m.id: m for m in _MODES})
