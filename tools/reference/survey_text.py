"""Synthetic free text, postcodes and respondent metadata for the reference export.

All of it is invented: names and emails use reserved example domains, IPs the documentation
ranges (RFC 5737), phone numbers Ofcom's drama range (07700 900xxx). Some answers carry typos,
some are long, a few contain a personal detail (so redaction is exercised) and two are hostile
(a spreadsheet formula and a script tag, so escaping and formula neutralisation are exercised).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

# Outward codes with weights: clusters around Newcastle, Manchester, Liverpool, Birmingham and
# London; fewer in the South West, East Midlands and East of England (Figure F-2).
ENGLAND = {
    "NE1": 4, "NE4": 4, "NE6": 4, "NE15": 3, "NE29": 2, "NE34": 2, "SR4": 2, "DH1": 1,
    "M1": 4, "M8": 3, "M13": 4, "M14": 3, "M40": 3, "OL1": 2, "BL1": 2, "SK5": 2,
    "L1": 3, "L4": 4, "L8": 4, "L11": 3, "L20": 2, "WA8": 1, "CH41": 2,
    "B5": 3, "B10": 4, "B11": 4, "B21": 3, "B33": 2, "WV1": 2, "WS1": 2, "CV1": 2,
    "E1": 3, "E8": 3, "E15": 3, "N15": 3, "N19": 2, "SE15": 3, "SE28": 2, "SW9": 3,
    "NW10": 3, "W12": 2, "CR0": 2, "IG1": 1,
    "LS9": 2, "S2": 2, "BD3": 2, "HU3": 1, "BB1": 2, "PR1": 1, "LA1": 1, "CA2": 1,
    "BN2": 2, "OX4": 2, "ME4": 1, "SO14": 1, "PO1": 1, "RG1": 1,
    "BS5": 1, "PL1": 1, "EX4": 1, "TR1": 1, "NG7": 1, "DE23": 1, "LE2": 1, "NR3": 1, "IP4": 1,
    "CB1": 1, "PE1": 1,
}  # fmt: skip
OUTSIDE_ENGLAND = ["CF24", "CF11", "SA1", "NP20", "LL11", "G31", "EH7", "DD1", "BT12", "BT5"]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

FIRST = ["Aisha", "Ben", "Chloe", "Dan", "Ella", "Femi", "Grace", "Harpreet", "Imran", "Jess",
         "Kieran", "Leah", "Mo", "Niamh", "Owen", "Priya", "Rhys", "Sam", "Tom", "Zainab"]  # fmt: skip
LAST = ["Ahmed", "Brown", "Clarke", "Davies", "Evans", "Fletcher", "Green", "Hussain", "Jones",
        "Khan", "Lewis", "Murphy", "Nolan", "Okafor", "Patel", "Roberts", "Smith", "Walsh"]  # fmt: skip
DOMAINS = ["example.org", "example.com", "example.net"]
ORG_CODES = ["UKY-NW-014", "UKY-NE-022", "UKY-LDN-031", "UKY-WM-007", ""]

# Kept-as-Other sector texts that nobody has reviewed yet (the suggestion list must offer them).
UNREVIEWED_OTHER = [
    "community centre manager",
    "Parish council",
    "Volunteer centre / CVS",
    "University - youth research",
    "Leisure centre (sports development)",
]

OPEN = {
    "benefits_text": [
        "Young people get to the right service quicker because we already know who to call.",
        "Schools now refer to us earlier, before things reach crisis point.",
        "We reach young people we would never have met through our open access sessions.",
        "Shared training with the CAMHS team has given our staff a lot more confidence.",
        "Joint funding bids - we would not have won the detached contract on our own.",
        "it helps young peopel trust other services because we introduce them in person",
    ],
    "disadvantages_text": [
        "More meetings means less time actually doing youth work.",
        "Staff are stretched and every new partnership is more admin.",
        "Risk of young people feeling passed around between too many proffesionals.",
        "Information sharing can put trust at risk if it is not handled well.",
    ],
    "barriers_text": [
        "Capacity. Partners are overstretched and do not return calls.",
        "Schools see us as an add-on rather than professionals.",
        "Different data systems, we cant see what social care has recorded.",
        "Short term funding means the relationships end when the project ends.",
        "Communication is slow, everything goes through a single point of contact.",
    ],
    "stopped_text": [
        "Police youth engagement officer post was cut in 2023.",
        "Local college - funding for the project ended.",
        "Fire service youth programme stopped after the funding finished.",
        "Library youth sessions closed when the library hours were cut.",
    ],
    "effective_practice_text": [
        "Monthly multi-agency forum hosted by the youth alliance.",
        "Co-locating a youth worker in the school two days a week.",
        "A shared referral form that every partner uses.",
        "Named contacts in each service and a WhatsApp group for quick questions.",
        "Being invited to the Team Around the Family meetings early.",
    ],
    "allied_benefits_text": [
        "Youth workers reach young people who will not engage with school staff.",
        "More holistic support - housing, mental health and education joined up.",
        "Quicker response when we have a safeguarding concern out of hours.",
    ],
    "allied_practice_text": [
        "A directory of local youth provision that is kept up to date.",
        "Regular joint meetings with the youth service.",
        "Knowing who to contact - staff turnover means contacts are lost.",
    ],
}
PERSONAL = [
    " Happy to talk more, contact me on 07700 900{n:03d}.",
    " Email me at {first}.{last}@example.org if useful.",
    " Our contact there, {first} {last}, has been brilliant.",
]
LONG_TAIL = (
    " In our area the biggest change came when the council brought everyone into one room every"
    " month; before that we were relying on individual relationships and when someone left the"
    " link was lost, which happened three times in two years. Now there is a shared plan, a"
    " named lead in each service, and young people tell us they notice the difference because"
    " they do not have to repeat their story to every new worker."
)
HOSTILE = ['=HYPERLINK("http://example.com","x")', "<script>alert(1)</script>"]
PURPOSE_OTHER = ["Joint detached outreach", "DofE expeditions", "holiday activities (HAF)"]
MORE_OTHER = ["Libraries", "Fire service", "Local businesses", "DWP / job centre"]
BARRIER_OTHER = ["Data sharing agreements", "Staff turnover"]


def postcode(rng: random.Random, outward: str) -> str:
    return f"{outward} {rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def england_postcode(rng: random.Random) -> str:
    codes = sorted(ENGLAND)
    return postcode(rng, rng.choices(codes, weights=[ENGLAND[c] for c in codes])[0])


def typo(rng: random.Random, text: str) -> str:
    """Swap two neighbouring letters in one word, as a hurried respondent might."""
    words = text.split(" ")
    k = rng.randrange(len(words))
    w = words[k]
    if len(w) > 3:
        j = rng.randrange(1, len(w) - 2)
        words[k] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def open_answer(rng: random.Random, qid: str, n: int) -> str:
    text = rng.choice(OPEN[qid])
    roll = rng.random()
    if roll < 0.12:
        text = typo(rng, text)
    elif roll < 0.2:
        text += LONG_TAIL
    elif roll < 0.26:
        text += rng.choice(PERSONAL).format(
            n=n % 1000, first=rng.choice(FIRST), last=rng.choice(LAST)
        )
    return text


def person(rng: random.Random, named: bool) -> tuple[str, str, str]:
    """(first name, last name, email); blank when the collector did not capture them."""
    if not named:
        return "", "", ""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
    return first, last, email


def ip_address(rng: random.Random) -> str:
    net = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
    return f"{net}.{rng.randint(1, 254)}"


def start_time(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A time in fieldwork, mostly in working hours."""
    day = rng.randrange((end - start).days + 1)
    return start + timedelta(days=day, hours=rng.randint(8, 20), minutes=rng.randint(0, 59),
                             seconds=rng.randint(0, 59))  # fmt: skip


def sm_time(t: datetime) -> str:
    """SurveyMonkey's export format: 01/16/2025 09:05:33 AM."""
    return t.strftime("%m/%d/%Y %I:%M:%S %p")
