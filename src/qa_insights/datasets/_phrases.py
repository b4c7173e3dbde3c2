"""Reviewer-comment vocabulary of the generator, one table per language.

QA reviewers write in English whatever the ticket's language, so only ``"en"`` exists; a later
language adds its own :class:`CommentPhrases` to :data:`COMMENT_PHRASES` (the generator falls back
to English for a language without a table).

Wordings are ``str.format`` templates. Slots the generator fills from the record:
``{area}`` (policy area in words), ``{gl}`` (guideline section), ``{spec_queue}`` (where it should
have gone), ``{harm}`` (the risk in the ticket), ``{hours}``, ``{sla}``, ``{days}``, ``{macro}``
(macro the agent used), ``{right_macro}``, ``{lang}`` (ticket language in words), ``{wrong_queue}``,
``{version}`` (policy version in force).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CommentPhrases", "COMMENT_PHRASES", "EN_FAILURE_WORDINGS"]


@dataclass(frozen=True)
class CommentPhrases:
    """Everything needed to write reviewer comments in one language."""

    failure_wordings: dict[str, tuple[str, ...]]
    pass_wordings: tuple[str, ...]
    minor_pass_wordings: tuple[str, ...]
    remarks: tuple[str, ...]
    #: (word, replacements): the reviewers' shorthand, applied word by word as noise.
    abbreviations: tuple[tuple[str, tuple[str, ...]], ...]
    auto_fail_prefix: tuple[str, ...]


# Each failure mode has >= 6 wordings that differ in verb, structure and length, the way
# different reviewers describe the same miss; theme discovery must group them anyway.
EN_FAILURE_WORDINGS: dict[str, tuple[str, ...]] = {
    "missed_escalation": (
        "Did not escalate. This {area} report met the bar under guideline {gl} and should have gone to {spec_queue}.",
        "No escalation raised even though the user described {harm}.",
        "Should have been escalated to the specialist team ({spec_queue}) per {area} guideline {gl}.",
        "Escalation missing - {area} report left sitting in tier 1 for {hours}.",
        "Agent tried to resolve it alone instead of handing over; guideline {gl} sends this straight to {spec_queue}.",
        "missed esc. needed specialist review",
        "Kept at T1 although the SOP requires a handover to {spec_queue}. Risk to the user was never assessed.",
        "Escalation step skipped: no handover note, nothing sent to {spec_queue}, ticket simply closed.",
    ),
    "wrong_policy_applied": (
        "Wrong policy applied - actioned under {area} when this falls under guideline {gl} of a different policy.",
        "Agent used the wrong guideline. Content should be assessed against section {gl}, not the one cited.",
        "Policy mismatch: reply quotes the wrong policy so the user got the wrong explanation.",
        "Misclassified the report; the correct policy area is not what the agent picked.",
        "Applied {area} rules to something that is clearly covered elsewhere (see {gl}).",
        "incorrect policy cited in the reply",
        "The decision might be right but it was reached via the wrong policy, which will confuse any appeal.",
    ),
    "wrongly_closed_no_violation": (
        "Agent closed as no-violation; should have actioned under {area} guideline {gl}.",
        "Closed NV but this is a clear violation.",
        "Marked as 'no violation found' although the reported content shows {harm}.",
        "Incorrect NV closure. Evidence in the screenshots was enough to action.",
        "User reported {harm} and the case was dismissed using {macro}.",
        "Content violates {gl} - should not have been closed without action.",
        "wrong NV closure, pls reopen",
        "The agent decided nothing broke the rules; I disagree, section {gl} covers exactly this.",
    ),
    "wrong_macro": (
        "Wrong macro used ({macro}); {right_macro} is the one for this report type.",
        "Sent the generic template instead of the {area} response.",
        "Macro does not match the case - user asked about one thing and got a reply about another.",
        "Incorrect canned response. {macro} is meant for a different scenario.",
        "Template mismatch: reply talks about a different issue than the user raised.",
        "used the wrong macro again",
        "Picked {macro} from the list when {right_macro} was the right fit; the user's actual question went unanswered.",
    ),
    "robotic_tone": (
        "No empathy shown. User was clearly distressed and got a copy-paste answer.",
        "Tone was robotic; reply did not acknowledge how upsetting this was for the user.",
        "Cold, transactional response to someone reporting {harm}.",
        "Needs more empathy - no acknowledgement, no reassurance, just the macro.",
        "Reply reads like a bot. Personalise it and acknowledge the user's feelings.",
        "lacked empathy",
        "The user said they were scared and the agent answered with policy wording only. Very impersonal.",
        "Empathy statement missing from the opening.",
    ),
    "unnecessary_personal_info": (
        "Asked the user for personal info we do not need (full address and date of birth).",
        "Agent requested a copy of the user's ID when it was not required for this report.",
        "Unnecessary data collection - asked for phone number and home address.",
        "Requested more personal details than the process allows; a data-minimisation breach.",
        "Why ask the reporter for their bank details? Not needed to handle this.",
        "asked for excessive PII",
        "Over-collected personal data from the reporter instead of using what was already on the case.",
    ),
    "no_ownership_verification": (
        "Did not verify account ownership before making changes.",
        "Account ownership not confirmed - agent reset access for whoever wrote in.",
        "Skipped the verification step; anyone could have requested this.",
        "No ownership check done before sharing account details.",
        "Verification missing. Should have run the ownership check per guideline {gl}.",
        "no verification",
        "Agent trusted the requester's word that they own the account - verification flow not followed.",
    ),
    "sla_breach": (
        "SLA breached - first response after {hours} against a {sla} target.",
        "Slow first response. User waited {hours} for a reply.",
        "Response time well outside SLA for a {area} report.",
        "Took {days} to pick up a priority ticket.",
        "Late reply. The {sla} SLA for this queue was missed by a wide margin.",
        "first response way too slow",
        "Ticket sat unassigned for {hours} before anyone looked at it; that is not acceptable for {area}.",
    ),
    "no_self_harm_resources": (
        "Did not provide self-harm resources.",
        "Helpline info missing - user mentioned wanting to end their life and got no support resources.",
        "Self-harm resources not shared; guideline {gl} requires them in the first reply.",
        "No crisis line or support links given to an at-risk user.",
        "Agent handled the report but forgot the self-harm resources macro.",
        "should have included the hotline numbers",
        "Missing wellbeing resources for a user expressing suicidal thoughts.",
    ),
    "over_enforcement": (
        "Over-enforcement - account banned when a warning was the correct action.",
        "Content removed although it does not violate {gl}; too harsh.",
        "Incorrect enforcement action: permanent suspension for a first minor offence.",
        "Action too severe for the violation; guideline {gl} calls for a strike, not a ban.",
        "Took down a news report as if it were graphic glorification.",
        "over-enforced",
        "Reported user was penalised for content that is allowed under the current policy.",
    ),
    "under_enforcement": (
        "Enforcement too lenient - only a warning for content that requires removal.",
        "Under-enforced: should have been a suspension under {gl}, agent just removed the post.",
        "Action too soft for repeated {area} violations.",
        "Left the account up after multiple confirmed strikes.",
        "Warning given where guideline {gl} mandates a ban.",
        "needed stronger action",
        "Removed one post but ignored the rest of the violating content on the profile.",
    ),
    "no_follow_up": (
        "No follow-up sent after the case was actioned.",
        "Agent promised to update the user and never did.",
        "Follow-up missing; user had to write in again {days} later.",
        "Did not close the loop with the reporter.",
        "No update to the user on the outcome of their report.",
        "forgot the follow up",
        "Pending-user status set but no reminder or second message went out.",
    ),
    "language_mismatch": (
        "Replied in English to a {lang} ticket.",
        "Language mismatch - user wrote in {lang}, agent answered in English.",
        "Reply not in the user's language ({lang}).",
        "Agent ignored the ticket language; {lang} macro exists and should have been used.",
        "Wrong language in the response. User may not understand it.",
        "should've replied in {lang}",
        "User asked twice for help in {lang}; both replies came back in English.",
    ),
    "evidence_not_preserved": (
        "Did not preserve evidence before the content was removed.",
        "Evidence not captured - screenshots and URLs missing from the case.",
        "Content deleted without preservation; needed for a possible law enforcement request.",
        "No evidence hold placed on the reported account.",
        "Agent removed the material but skipped the preservation step in guideline {gl}.",
        "evidence not saved",
        "Case notes have no record of what was reported, so nothing can be reviewed later.",
    ),
    "overpromised_outcome": (
        "Promised an outcome we cannot guarantee - told the user the account would definitely be banned.",
        "Agent guaranteed a refund; we cannot promise that.",
        "Overpromised: said the content will be removed within the hour.",
        "Made a commitment outside our control (recovering the lost money).",
        "Do not promise outcomes - told the user the scammer will be caught.",
        "set wrong expectations w/ the user",
        "Told the reporter we would get their account back for sure before any check was done.",
    ),
    "wrong_queue_transfer": (
        "Transferred to the wrong queue ({wrong_queue}); it belongs in {spec_queue}.",
        "Sent to {wrong_queue} by mistake, which delayed handling by {days}.",
        "Misrouted - ticket bounced between queues before reaching the right team.",
        "Wrong transfer: {area} reports go to {spec_queue}.",
        "Agent moved the case to a queue that does not handle this type of report.",
        "sent to the wrong team",
        "Routing error; the ticket was parked in {wrong_queue} and nobody there could action it.",
    ),
    "incomplete_investigation": (
        "Only looked at the reported post and missed the pattern on the profile.",
        "Investigation incomplete - did not check the other messages the user mentioned.",
        "Agent assessed one item in isolation; context shows a sustained {area} campaign.",
        "Did not review the full conversation before deciding.",
        "Surface-level review. Needed to look at the account history.",
        "missed context",
        "Decision based on the first screenshot only; the remaining evidence was never opened.",
    ),
    "disclosed_reporter_identity": (
        "Revealed the reporter's identity to the reported user.",
        "Reply to the reported account mentioned who filed the report.",
        "Confidentiality breach - the reporter's name was included in the warning message.",
        "Agent told the other party who complained. Serious breach.",
        "Reporter details exposed in the enforcement notice.",
        "leaked reporter identity",
        "The warning sent to the offender quoted the reporter's message word for word, so they know who reported.",
    ),
    "incorrect_appeal_decision": (
        "Appeal upheld wrongly - the original removal was correct.",
        "Reversed a correct enforcement action on appeal.",
        "Appeal denied although the original decision was clearly a mistake.",
        "Wrong appeal outcome; the agent did not re-review the content against {gl}.",
        "Rubber-stamped the appeal without looking at the evidence.",
        "bad appeal call",
        "Restored content that still violates the {area} policy after the user appealed.",
    ),
    "no_emergency_referral": (
        "Imminent threat not referred to law enforcement / emergency services.",
        "User described {harm}; emergency referral process not triggered.",
        "Should have flagged to the LE response team straight away.",
        "No emergency escalation despite a credible threat of harm.",
        "Missed the imminent-risk protocol in guideline {gl}.",
        "needed LE referral",
        "Threat was specific (time and place given) and the agent just removed the post without reporting it.",
    ),
    "copy_paste_error": (
        "Reply contains another user's name - copy/paste error.",
        "Pasted details from a different case into this reply.",
        "Wrong username and case details in the response.",
        "Copy-paste mistake: the reply refers to an issue this user never raised.",
        "Left placeholder text in the reply ([NAME], [DATE]).",
        "copy paste error in reply",
        "Sent a response drafted for someone else, including their report details.",
    ),
    "missing_safety_tips": (
        "Did not share blocking and reporting tips.",
        "Safety tips missing - user should have been told how to block and restrict.",
        "No guidance given on how to protect themselves from further contact.",
        "Agent closed without the standard safety advice.",
        "Should have explained the privacy settings and how to block the account.",
        "no safety tips",
        "User is still exposed to the harasser because nobody told them about the block and restrict tools.",
    ),
    "internal_jargon": (
        "Used internal jargon in the reply (NV, T1, LE).",
        "Reply quotes internal policy codes the user will not understand.",
        "Internal terminology leaked into the customer-facing response.",
        "Too much jargon; explain the outcome in plain language.",
        "Mentioned '{macro}' and queue names to the user.",
        "jargon in reply",
        "The user was told their case is 'pending {spec_queue} triage' - meaningless to them.",
    ),
    "enforcement_not_applied": (
        "Agent marked the content as removed but it is still live - the action did not go through.",
        "Enforcement tool error: suspension recorded on the case but not applied to the account.",
        "Action failed silently; the agent did not check that the takedown worked.",
        "Ban shows in the case notes but the account is still active.",
        "Tool did not apply the strike, and nobody noticed.",
        "action didn't stick",
        "Removal queued but never executed because of a system error; user reported it again {days} later.",
    ),
    "duplicate_reports_not_linked": (
        "Did not link the duplicate reports about the same account.",
        "Handled in isolation - reports on this user from the past {days} were not merged.",
        "Duplicate tickets not merged, so the repeated pattern was missed.",
        "Case tool showed related reports; agent ignored them.",
        "Several users reported the same account and each ticket was closed separately.",
        "dupes not linked",
        "Missed the related-case panel; linking them would have shown a clear pattern of abuse.",
    ),
    # Reserved for planted themes: never drawn as background.
    "scam_refund_macro_to_victims": (
        "Sent the refund/payment-link macro {macro} to a scam victim - that macro is for merchant disputes.",
        "Scam victim received the refund template with a payment link; could look like another scam.",
        "Wrong macro for a scam report: {macro} asks the user to click a link and re-enter card details.",
        "User was defrauded and we replied with the 'claim your refund here' template.",
        "The scam-refund macro should never go to victims. It mirrors the scammer's own script.",
        "payment-link template to fraud victim again",
        "Victim of a payment scam got {macro}, which tells them to verify payment through a link. Pls stop using it for scam reports.",
        "Agent used the payment-link template on a fraud report; the user thought we were the scammers.",
    ),
    "minor_asked_for_id_photo": (
        "Agent asked a minor to send a photo of their ID.",
        "Requested an ID photo from a user who said they are 14.",
        "Never ask under-18s for identity documents - the user is a child.",
        "Child user was told to upload a selfie holding their ID card.",
        "Asked the young reporter for government ID to continue; not allowed for minors.",
        "id photo requested from minor",
        "The verification step demanded a photo ID from a 13-year-old; the child-safety guideline {gl} forbids this.",
    ),
    "auto_translate_garbled_resources": (
        "Auto-translate garbled the safety resources; the helpline text was unreadable.",
        "Machine translation broke the self-harm resources message - numbers and links were mangled.",
        "Translated crisis-line info makes no sense in {lang}.",
        "The {lang} version of the resources macro came out as gibberish after auto-translation.",
        "Support resources were sent but the translation turned them into nonsense.",
        "auto translation ruined the hotline info",
        "User in crisis got a helpline message whose translation dropped the phone number and reversed the meaning.",
    ),
    "satire_misapplied_new_policy": (
        "New policy version {version} misapplied to satire - the post is clearly a joke.",
        "Agent treated obvious satire as hate speech under {version}.",
        "Parody account content removed under the updated guidance; satire is still allowed.",
        "Misread the {version} wording on mocking content and took down a comedy post.",
        "The {version} change does not cover satire - agent over-applied it.",
        "satire removed under new policy",
        "Political cartoon removed; the new version's exception for satire and commentary was ignored.",
    ),
}

_EN_PASS = (
    "Handled well: correct macro, escalated within SLA.",
    "Good handling. Correct policy applied and clear reply.",
    "All steps followed, user updated promptly.",
    "Correct action taken; empathetic and clear.",
    "No issues found.",
    "Accurate decision, evidence noted, good tone.",
    "Textbook handling of a {area} report.",
    "Right outcome, right macro, within SLA.",
    "pass - nothing to flag",
    "Solid work: verified, actioned and followed up.",
)

_EN_MINOR_PASS = (
    "Good overall; could open with a warmer greeting.",
    "Pass. Minor: reply a bit long, could be more concise.",
    "Correct decision; small formatting issue in the macro.",
    "Fine handling, though the case notes could be more detailed.",
)

_EN_REMARKS = (
    "Coaching sent.",
    "pls review with TL",
    "See case notes.",
    "Flagged to team lead.",
    "2nd time this month for this agent.",
    "Discussed in calibration.",
    "Will recheck next week.",
    "FYI @QA lead",
    "otherwise ok",
    "Rest of the handling was fine.",
    "Feedback shared with agent.",
    "cc training team",
)

_EN_ABBREVIATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("escalate", ("esc",)),
    ("escalated", ("esc'd", "esc")),
    ("escalation", ("esc", "escal.")),
    ("please", ("pls", "plz")),
    ("because", ("bc", "b/c")),
    ("without", ("w/o",)),
    ("with", ("w/",)),
    ("information", ("info",)),
    ("response", ("resp",)),
    ("customer", ("cx",)),
    ("should", ("shld",)),
    ("agent", ("agt",)),
    ("account", ("acct",)),
    ("minutes", ("mins",)),
)

COMMENT_PHRASES: dict[str, CommentPhrases] = {
    "en": CommentPhrases(
        failure_wordings=EN_FAILURE_WORDINGS,
        pass_wordings=_EN_PASS,
        minor_pass_wordings=_EN_MINOR_PASS,
        remarks=_EN_REMARKS,
        abbreviations=_EN_ABBREVIATIONS,
        auto_fail_prefix=("Auto-fail (critical):", "AUTO FAIL -", "Critical error:"),
    ),
}
