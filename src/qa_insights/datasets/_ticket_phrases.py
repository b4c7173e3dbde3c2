"""Ticket-text vocabulary of the generator: how users write safety reports, one table per language.

Only ``"en"`` exists; a later language adds its own :class:`TicketPhrases` to
:data:`TICKET_PHRASES` under its BCP-47 tag (``"ms"``, ``"th"``, ...). A language without a table
falls back to English, so today the ``language`` column says what the user wrote in and the text
is English.

Template slots: ``{who}`` (the reported account; becomes an @handle when the ticket carries one),
``{rel}`` (someone the reporter cares about), ``{when}``, ``{n}`` (a small count), ``{amount}``
(money, in the market's currency), ``{thing}`` (posts, DMs, ...). PII sentences have one ``{pii}``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TicketPhrases", "TICKET_PHRASES"]


@dataclass(frozen=True)
class TicketPhrases:
    """Everything needed to write users' safety reports in one language."""

    templates: dict[str, tuple[str, ...]]
    #: PII kind -> sentences that carry one value of that kind.
    pii_sentences: dict[str, tuple[str, ...]]
    who: tuple[str, ...]
    rel: tuple[str, ...]
    when: tuple[str, ...]
    thing: tuple[str, ...]
    #: channel -> wrappers around the body (``{body}``), e.g. an email greeting.
    channel_wrappers: dict[str, tuple[str, ...]]
    #: What users pick in the in-app report menu, by policy area.
    report_reasons: dict[str, str]
    #: (word, replacements): how users shorten words, applied as noise.
    abbreviations: tuple[tuple[str, tuple[str, ...]], ...]
    #: Trailing emotion users add.
    tails: tuple[str, ...]


_EN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "bullying_harassment": (
        "{who} keeps posting my photos with mean captions, i reported {n} times and nothing happened",
        "pls help, {who} is harassing {rel} every day, calling her fat and ugly in the comments",
        "They made a group chat just to make fun of me. I can't go to school anymore.",
        "{who} sends me abusive DMs {when}. I blocked them and they made a new account!!",
        "someone is spamming insults on all my {thing} and my friends are joining in",
        "My ex keeps messaging me threats and creepy stuff. I'm scared to go out.",
        "people are mocking {rel}'s disability in the comments, this is so cruel",
    ),
    "hate_speech": (
        "{who} is posting racist stuff about my community, full of slurs",
        "this page calls for people of my religion to be kicked out of the country. how is this allowed??",
        "Comments under my video are full of homophobic slurs {when}",
        "There's a live stream where they compare refugees to animals. Please remove it.",
        "{who} keeps saying disabled people should not exist. Reported {n} times already.",
        "hateful post against migrants is going viral, people are sharing it everywhere",
    ),
    "child_safety": (
        "an adult account is messaging {rel} (12 yrs old) and asking for pictures. please help urgently",
        "{who} is posting photos of kids with creepy comments",
        "I think someone is grooming my son, he keeps getting gifts from a stranger on the app",
        "there is a group sharing pictures of children, i don't want to describe it. PLEASE act fast",
        "a stranger told my 13 year old daughter to keep their chats secret",
        "This account pretends to be a teen but it's an adult man. He added {n} kids from my school.",
    ),
    "sexual_exploitation": (
        "{who} is threatening to share my private photos unless I pay {amount}",
        "someone posted intimate pics of me without consent. i am begging you take it down",
        "I'm being blackmailed with a video from a call {when}, they want money",
        "there's an account selling explicit content of people who didn't agree to it",
        "my nudes got leaked by my ex and he tagged my family",
        "got a message saying they will send my pictures to all my followers if i don't send more",
    ),
    "violent_graphic": (
        "video of a man being beaten is on my feed, it's horrible, no warning at all",
        "{who} keeps posting gore in the comments of a kids' cartoon page",
        "Someone shared footage of the accident with the victims visible. The families will see it.",
        "graphic animal cruelty video is trending, please remove",
        "why is this bloody fight video still up?? reported {when}",
    ),
    "self_harm_suicide": (
        "my friend posted that she wants to end it tonight. please do something",
        "{who} is live streaming and cutting themselves. please help now",
        "i don't want to be here anymore. nobody would notice if i disappeared",
        "{rel} keeps posting about not wanting to live {when}. I'm really worried.",
        "There's a group encouraging people to starve themselves and share their weight",
        "someone commented that i should kill myself and now i keep thinking about it",
    ),
    "dangerous_acts": (
        "kids are doing a choking challenge from this video, {rel} almost passed out",
        "{who} posts videos of people jumping between rooftops and tells others to try",
        "tutorial on making fireworks at home is going around the school group",
        "there is a trend where people eat detergent pods for views. please remove it",
        "this account is selling pills and showing how to take a huge dose",
    ),
    "violent_extremism": (
        "{who} is sharing recruitment videos for an armed group",
        "someone posted a manifesto praising last week's attack and calling for more",
        "there's a channel glorifying terrorists with their flags and songs",
        "A user said he will bring a weapon to the rally on Saturday. I'm serious, he posted the plan.",
        "propaganda videos with beheadings being reposted in the comments {when}",
    ),
    "scams_fraud": (
        "I paid {amount} for a phone and the seller blocked me",
        "got a message saying i won a prize, they asked me to pay a fee of {amount} first. i paid. now what",
        "someone pretending to be your support team asked me for my OTP and now my money is gone",
        "Investment page promised 30% returns a week. I sent {amount} and they disappeared.",
        "fake job offer, they made me pay {amount} for training and then vanished!!",
        "a 'courier' sent me a link to pay customs fees and they took {amount} from my card",
        "{who} is running a giveaway scam and many people in my area got cheated",
    ),
    "account_security": (
        "my account got hacked, they changed the email and password. i can't log in",
        "someone logged into my account from another country {when}",
        "Hacker is posting scam links from my account to all my friends. HELP",
        "I lost access after clicking a link, please help me recover my account",
        "my 2FA was turned off and i didn't do it, there are messages i never sent",
        "I got a code I never requested and then I was logged out of everything",
    ),
    "privacy_doxxing": (
        "{who} posted my home address and phone number and told people to visit me",
        "someone shared a photo of my house with the street name, i'm scared",
        "my personal details are in a post that is being shared {n} times",
        "A page is posting screenshots of my private chats with my name",
        "they posted my workplace and car plate so people can find me",
    ),
    "impersonation": (
        "{who} is using my photos and name and messaging my friends for money",
        "there's a fake account of me, it even has my profile pic",
        "someone is pretending to be my business and taking orders",
        "Fake page impersonating {rel}, asking people for donations",
        "This account copies a famous artist and sells fake tickets",
    ),
    "other": (
        "i keep getting spam messages from {who}",
        "why was my post removed? it didn't break any rule",
        "someone is posting fake news about the election in my city",
        "the comments on my page are full of bots advertising stuff",
        "a user is selling followers and likes, is that allowed",
    ),
}

_EN_PII_SENTENCES: dict[str, tuple[str, ...]] = {
    "email": (
        "my email is {pii}",
        "you can contact me at {pii}",
        "pls reply to {pii}, I can't open the app",
        "they changed the email to {pii}",
    ),
    "phone": (
        "my number is {pii}",
        "call me on {pii} please",
        "the number they used is {pii}",
        "whatsapp me {pii}",
    ),
    "url": (
        "link: {pii}",
        "here is the post {pii}",
        "they sent me this {pii}",
        "the page is {pii}",
    ),
    "handle": (
        "the account is {pii}",
        "username {pii}",
        "it's {pii} again",
    ),
    "card": (
        "I paid with my card {pii}, please block it",
        "card number {pii} was charged",
        "they took money from my card ({pii})",
    ),
    "ip": (
        "the login came from IP {pii}",
        "security email said the sign-in was from {pii}",
    ),
    "account": (
        "I transferred to account {pii}",
        "my account number is {pii}",
        "bank acc {pii} belongs to the scammer",
    ),
}

_EN_WHO = ("this account", "this guy", "this user", "someone", "a girl from my class", "this page")

TICKET_PHRASES: dict[str, TicketPhrases] = {
    "en": TicketPhrases(
        templates=_EN_TEMPLATES,
        pii_sentences=_EN_PII_SENTENCES,
        who=_EN_WHO,
        rel=("my daughter", "my son", "my friend", "my little sister", "my cousin", "my mum"),
        when=("yesterday", "last night", "for 2 weeks now", "since monday", "every day", "today"),
        thing=("posts", "photos", "videos", "comments", "stories"),
        channel_wrappers={
            "email": (
                "Hi,\n\n{body}\n\nThanks",
                "Dear Support Team,\n{body}\nRegards",
                "Hello, {body}",
                "{body}\n\nSent from my phone",
            ),
            "web-form": (
                "Form: safety report | Description: {body}",
                "[web form] {body}",
            ),
            "chat": ("hello?? {body}", "hi {body}", "{body} pls reply"),
            "in-app": ("Report reason: {reason}. Details: {body}", "Reported via app ({reason}): {body}"),
        },
        report_reasons={
            "bullying_harassment": "Bullying or harassment",
            "hate_speech": "Hate speech",
            "child_safety": "Child safety",
            "sexual_exploitation": "Nudity or sexual exploitation",
            "violent_graphic": "Violence or graphic content",
            "self_harm_suicide": "Suicide or self-injury",
            "dangerous_acts": "Dangerous acts",
            "violent_extremism": "Terrorism or violent extremism",
            "scams_fraud": "Scam or fraud",
            "account_security": "Hacked account",
            "privacy_doxxing": "Privacy violation",
            "impersonation": "Impersonation",
            "other": "Something else",
        },
        abbreviations=(
            ("please", ("pls", "plz")), ("you", ("u",)), ("because", ("coz", "bc")),
            ("are", ("r",)), ("your", ("ur",)), ("really", ("rly",)), ("people", ("ppl",)),
        ),
        tails=(" 😭", " 🙏", "!!!", " please help", " ??", " thank you"),
    ),
}
