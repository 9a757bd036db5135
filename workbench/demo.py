"""Deterministic demo data: an HR export, a Kleer seed, and the truth between them.

:func:`generate` invents a Swedish company's employees and writes them twice, the way two systems
that drifted apart would hold them: once as the HR system exports them (raw text, Swedish
headers, personnummer and phone numbers typed every which way) and once as Kleer holds them (one
``name`` field, E.164 phones, ISO dates). It records which HR employee is which Kleer user
(``truth``) and which kind of noise made each pair hard to recognise (``situations``), so the demo
can be explained and the matcher's quality measured per situation.

Everything comes from ``random.Random(seed)``: the same arguments give byte-identical files
(:func:`write`). Rates are fixed fractions (:data:`PAIR_SITUATIONS`, :data:`ONLY_IN_HR_RATE`, …),
so a 50,000-person run has the same mix as the 300-person demo. Most pairs are easy; the
:data:`COMBINED_SITUATIONS` (several kinds of drift on one pair: a married name with no
personnummer and a new email, namesakes, typos in both names, nickname forms) leave the matcher
unsure of about one true pair in eight (the married and typo pairs, with most of their
evidence gone), so the review has something to review. They come last,
from a stream of their own, so the other rows are exactly what they would be without them.

>>> demo = generate(40)
>>> len(demo.hr), len(demo.truth)
(40, 36)
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import pandas as pd

from .fields import join_name
from .normalize import make_personnummer

__all__ = [
    "Demo",
    "generate",
    "write",
    "HR_HEADERS",
    "HR_COLUMNS",
    "SITUATIONS",
    "PAIR_SITUATIONS",
    "COMBINED_SITUATIONS",
    "NICKNAMES",
    "NICKNAME_FORMS",
    "ONLY_IN_HR_RATE",
    "ONLY_IN_KLEER_RATE",
    "FOREIGN_ID_RATE",
    "BAD_CELL_RATE",
    "FILES",
]

# --------------------------------------------------------------------------- the shape

#: The HR export's headers, in file order, with the field each one stands for.
HR_HEADERS: tuple[tuple[str, str], ...] = (
    ("Anställd-ID", "hr_id"),
    ("Förnamn", "first_name"),
    ("Efternamn", "last_name"),
    ("Personnummer", "ssn"),
    ("Födelsedatum", "birth_date"),
    ("Privat e-post", "private_email"),
    ("E-post arbete", "work_email"),
    ("Telefon", "phone"),
    ("C/o", "address_co"),
    ("Gatuadress", "street"),
    ("Postnummer", "zip_code"),
    ("Ort", "city"),
    ("Land", "country_code"),
    ("Anställningsdatum", "employment_start_date"),
    ("Slutdatum", "employment_end_date"),
    ("Anställningsnummer", "employee_number"),
    ("Månadslön", "monthly_salary"),
    ("Skattetabell", "tax_table"),
    ("Skattekolumn", "tax_table_column"),
    ("Clearingnummer", "clearing_nr"),
    ("Kontonummer", "account_nr"),
    ("Aktiv", "active"),
)
HR_COLUMNS: tuple[str, ...] = tuple(h for h, _ in HR_HEADERS)

#: What :func:`write` writes, by role.
FILES = {"hr": "hr_employees.csv", "kleer_seed": "kleer_seed.json",
         "truth": "ground_truth.csv", "situations": "situations.csv"}

#: Every situation the demo produces, with what it means (``situations.csv`` uses these names).
SITUATIONS: dict[str, str] = {
    "identical": "the same person with the same data on both sides (formatting aside)",
    "diacritics_dropped": "one side wrote the name without å ä ö é ü (Åsa Öberg → Asa Oberg)",
    "nickname": "one side uses the nickname (Kalle for Karl, Lotta for Charlotte)",
    "name_swapped": "Kleer's one name field has the last name first",
    "married_name": "a new surname on one side, the old one on the other; same personnummer",
    "name_typo": "a typing error in the first or last name on one side",
    "ssn_missing_in_hr": "the HR row has no personnummer (a birth date instead)",
    "ssn_missing_in_kleer": "the Kleer user has no payroll contract, so no personnummer",
    "ssn_10_digit": "HR writes the personnummer with 10 digits (850312-1231)",
    "samordningsnummer": "a coordination number (day of birth + 60) on both sides",
    "private_vs_work_email": "Kleer holds the private email; the HR row has only the work email",
    "kleer_has_work_email": "Kleer holds the work email; HR has both",
    "namesake": "two HR employees with the same name who are different people",
    "inactive_in_kleer": "a Kleer user with active false and an employment end date",
    "employee_number_differs": "Kleer's internal-id differs from HR's employee number "
                               "(often it is another HR employee's number)",
    "fields_differ": "a true pair where phone, address, salary, tax or bank details differ",
    "foreign_id_set": "the Kleer user already carries foreign-id = the HR id (synced before)",
    "only_in_hr": "an HR employee with no Kleer user (new hire)",
    "only_in_kleer": "a Kleer user with no HR employee",
    "no_payroll_contract": "a Kleer user without a payroll contract (not a true pair)",
    "integration_user": "the token's own Kleer user, not an employee",
    "bad_personnummer": "deliberate bad cell: a personnummer with a wrong check digit",
    "bad_email": "deliberate bad cell: a private email that is not an address",
    # combined situations: several kinds of drift on one true pair, so the matcher is unsure
    "married_no_ssn_new_email": "married name (Kleer still has the old surname and the old "
                                "private email), no personnummer in HR; same address and phone",
    "namesake_no_contract": "shares the name with another HR employee; the Kleer user has no "
                            "payroll contract and an email HR does not hold",
    "typos_in_both_names": "typing errors in both the first and the last name on one side; the "
                           "Kleer user has no payroll contract and no internal-id",
    "nickname_no_contract": "Kleer uses a nickname form (Kajsa for Karin, Fredde for Fredrik) and "
                            "the work email written with it; no payroll contract",
}

#: Exclusive situations of true pairs and their share of the pairs; the rest are ``identical``.
PAIR_SITUATIONS: tuple[tuple[str, float], ...] = (
    ("diacritics_dropped", 0.05),
    ("nickname", 0.05),
    ("name_swapped", 0.03),
    ("married_name", 0.03),
    ("name_typo", 0.05),
    ("ssn_missing_in_hr", 0.03),
    ("ssn_missing_in_kleer", 0.03),
    ("ssn_10_digit", 0.05),
    ("samordningsnummer", 0.02),
    ("private_vs_work_email", 0.03),
    ("kleer_has_work_email", 0.03),
    ("namesake", 0.02),
    ("inactive_in_kleer", 0.02),
    ("employee_number_differs", 0.04),
    ("fields_differ", 0.10),
)
_NAME_SITUATIONS = frozenset({"diacritics_dropped", "nickname", "name_swapped", "married_name",
                             "name_typo", "namesake"})

#: Combined situations and their share of the true pairs, each applied to an ``identical`` pair
#: whose name nobody else has (no foreign-id, no namesake). Each takes away much of the evidence
#: a probabilistic matcher leans on. The married pair has no personnummer in HR, and Kleer keeps
#: her maiden name, old email, old home in another town, old phone and the employee number of
#: her first employment (only first name, birth date and start date agree): "likely". The typos
#: have no payroll contract and no internal-id, and Kleer's older address shares only its local
#: part with HR's: "likely" or "possible" where the typo hurts, "certain" where it barely does.
#: Together about one true pair in eight to review. The namesake and the nickname form (no
#: contract, no internal-id, an older address with the same local part) stay "certain" for ours:
#: a check that the email tells namesakes apart and that a known nickname is full evidence
#: (with the email gone too, a name alone is no evidence in a 5,000-person company).
#: Applied after everything else, from their own random stream, so the rest of the demo does not
#: move when they change.
COMBINED_SITUATIONS: tuple[tuple[str, float], ...] = (
    ("married_no_ssn_new_email", 0.10),
    ("namesake_no_contract", 0.04),
    ("typos_in_both_names", 0.06),
    ("nickname_no_contract", 0.03),
)

ONLY_IN_HR_RATE = 0.10          # of the HR employees
ONLY_IN_KLEER_RATE = 50 / 300   # Kleer employees with no HR row, per HR employee
FOREIGN_ID_RATE = 0.10          # of the true pairs, on top of their situation
BAD_CELL_RATE = 1 / 150         # of the HR employees, for each kind of deliberate bad cell

#: Nicknames Swedes go by, formal name → nickname.
NICKNAMES: dict[str, str] = {
    "Karl": "Kalle", "Lars": "Lasse", "Per": "Pelle", "Jan": "Janne", "Mikael": "Micke",
    "Nils": "Nisse", "Olof": "Olle", "Bo": "Bosse", "Kristina": "Stina", "Charlotte": "Lotta",
    "William": "Bill", "Robert": "Bob",
}
#: More nickname forms (formal → form), for :data:`COMBINED_SITUATIONS`: -an/-is/-e forms and
#: dropped first syllables, every one a nickname in :mod:`workbench.nicknames`.
NICKNAME_FORMS: dict[str, str] = {
    "Karin": "Kajsa", "Matilda": "Tilda", "Margareta": "Maggan", "Birgitta": "Gittan",
    "Therese": "Tessan", "Cecilia": "Cissi", "Louise": "Lollo", "Sofia": "Fia", "Kerstin": "Kickan",
    "Camilla": "Milla", "Fredrik": "Fredde", "Henrik": "Henke", "Magnus": "Mange",
    "Thomas": "Tompa", "Daniel": "Danne", "Ludvig": "Ludde", "Sebastian": "Sebbe",
    "Niklas": "Nicke", "Mattias": "Matte", "Gustav": "Gurra", "Filip": "Fille", "Leif": "Leffe",
    "Rolf": "Roffe", "Ulf": "Uffe", "Hans": "Hasse", "Jonas": "Jonte", "Patrik": "Patte",
    **NICKNAMES,
}
_NICK_MALE = ("Karl", "Lars", "Per", "Jan", "Mikael", "Nils", "Olof", "Bo", "William", "Robert")
_NICK_FEMALE = ("Kristina", "Charlotte")

# --------------------------------------------------------------------------- name lists

_FEMALE = (
    "Anna", "Eva", "Maria", "Karin", "Kristina", "Lena", "Sara", "Emma", "Kerstin", "Ingrid",
    "Marie", "Malin", "Jenny", "Hanna", "Linda", "Annika", "Susanne", "Elin", "Monica", "Johanna",
    "Birgitta", "Sofia", "Carina", "Elisabeth", "Charlotte", "Ulla", "Julia", "Ida", "Helena",
    "Camilla", "Åsa", "Märta", "Linnéa", "Ebba", "Maja", "Agnes", "Astrid", "Frida", "Klara",
    "Moa", "Ylva", "Sofie", "Therese", "Matilda", "Louise", "Cecilia", "Gunilla", "Margareta",
    "Britt", "Inger", "Ann", "Siv", "Solveig", "Tove", "Wilma", "Alva", "Saga", "Elsa", "Ella",
    "Görel",
)
_MALE = (
    "Lars", "Karl", "Erik", "Anders", "Johan", "Per", "Nils", "Jan", "Mikael", "Olof", "Bo",
    "Peter", "Hans", "Thomas", "Daniel", "Fredrik", "Stefan", "Andreas", "Magnus", "Mats", "Jonas",
    "Göran", "Björn", "Åke", "Sven", "Gustav", "Oskar", "Henrik", "Martin", "Mattias", "Niklas",
    "Patrik", "Robert", "William", "Emil", "Viktor", "Alexander", "Axel", "Filip", "Hugo",
    "Ludvig", "Sebastian", "Kjell", "Leif", "Rolf", "Ulf", "Bengt", "Gunnar", "Örjan", "Jörgen",
    "Håkan", "Stig", "Tomas", "Roger", "Christer", "Tobias", "Simon", "Oliver", "Elias", "Gösta",
)
_FEMALE_DOUBLE = ("Anna-Karin", "Eva-Lena", "Ann-Christin", "Maj-Britt", "Ann-Marie", "Anna Maria",
                  "Lise-Lotte", "Britt-Marie", "Eva Maria", "Anna-Lena")
_MALE_DOUBLE = ("Karl Johan", "Per-Olof", "Lars-Erik", "Jan-Erik", "Carl Gustaf", "Nils-Åke",
                "Bengt-Göran", "Hans-Olov", "Karl-Axel", "Per Anders")
_FEMALE_FOREIGN = ("Fatima", "Amira", "Leila", "Noor", "Aleksandra", "Agnieszka", "Tuula",
                   "Zeynep", "Maryam", "Hélène", "Noémi", "Chloé", "Ana", "Ewa")
_MALE_FOREIGN = ("Mohammed", "Ahmed", "Ali", "Hassan", "Yusuf", "Mehmet", "Piotr", "Tomasz",
                 "Mikko", "Jürgen", "André", "René", "Dragan", "Omar")
_FEMALE_DIACRITIC = ("Åsa", "Märta", "Linnéa", "Görel", "Ingegärd", "Désirée", "Renée", "Märit")
_MALE_DIACRITIC = ("Göran", "Björn", "Åke", "Örjan", "Jörgen", "Håkan", "Gösta", "Mårten", "Sölve",
                   "Jöns")

_SURNAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson",
    "Jönsson", "Lindberg", "Jakobsson", "Magnusson", "Olofsson", "Lindström", "Lindqvist",
    "Lindgren", "Berg", "Axelsson", "Bergström", "Lundberg", "Lind", "Lundgren", "Lundqvist",
    "Mattsson", "Berglund", "Fredriksson", "Sandberg", "Henriksson", "Forsberg", "Sjöberg",
    "Wallin", "Engström", "Eklund", "Danielsson", "Lundin", "Håkansson", "Björk", "Bergman",
    "Gunnarsson", "Holm", "Wikström", "Samuelsson", "Isaksson", "Fransson", "Bergqvist",
    "Nyström", "Holmberg", "Arvidsson", "Löfgren", "Söderberg", "Nyberg", "Blomqvist", "Claesson",
    "Nordström", "Mårtensson", "Lundström", "Viklund", "Björklund", "Eliasson", "Pålsson",
    "Berggren", "Sandström", "Lund", "Nordin", "Ström", "Åberg", "Hermansson", "Ekström",
    "Holmgren", "Sundberg", "Hedlund", "Dahlberg", "Hellström", "Sjögren", "Abrahamsson", "Falk",
    "Öberg", "Blom", "Ek", "Martinsson", "Andreasson", "Strand", "Månsson", "Åström", "Sundström",
    "Holmqvist", "Söderström", "Lindén", "Dahlén",
)
_SURNAME_DIACRITIC = ("Öberg", "Åberg", "Sjöström", "Söderberg", "Håkansson", "Jönsson",
                      "Mårtensson", "Löfgren", "Nyström", "Åström", "Björklund", "Ståhl", "Sjögren",
                      "Bäckström", "Lindén", "Dahlén", "Sköld", "Hägglund", "Östlund", "Ängström")
_SURNAME_PARTS = ("Berg", "Lind", "Ek", "Holm", "Strand", "Falk", "Blom", "Björk", "Ström",
                  "Svensson", "Nilsson", "Larsson", "Wallin", "Dahl")
_SURNAME_PARTICLE = ("von Essen", "af Klint", "von Platen", "af Ugglas", "de Geer", "von Sydow",
                     "von Rosen", "af Petersens")
_SURNAME_FOREIGN = ("Ali", "Mohammed", "Ahmed", "Hussein", "Hassan", "Yilmaz", "Nguyen",
                    "Kowalski", "Nowak", "Korhonen", "Virtanen", "Müller", "Schmidt", "Rodríguez",
                    "García", "Popović", "Dubois", "Kaya", "Abdi", "Jovanović")

# --------------------------------------------------------------------------- places and banks

_STREETS = ("Storgatan", "Drottninggatan", "Kungsgatan", "Vasagatan", "Skolgatan", "Kyrkogatan",
            "Järnvägsgatan", "Nygatan", "Parkvägen", "Björkvägen", "Ringvägen", "Industrigatan",
            "Östra Långgatan", "Västra Hamngatan", "Södra vägen", "Sveavägen", "Götgatan",
            "Hornsgatan", "Linnégatan", "Åsögatan", "Odengatan", "Tegnérgatan", "Ekvägen",
            "Lärkvägen", "Tallvägen", "Granvägen", "Allégatan", "Trädgårdsgatan", "Strandvägen",
            "Bergsgatan", "Smedjegatan", "Prästgårdsgatan", "Mölndalsvägen", "Fabriksgatan")
# city, postal code range, tax table, weight
_CITIES = (
    ("Stockholm", 11120, 11869, 30, 30), ("Solna", 16910, 17179, 29, 4),
    ("Sundbyberg", 17200, 17279, 30, 2), ("Täby", 18310, 18799, 30, 2),
    ("Södertälje", 15130, 15259, 32, 2), ("Uppsala", 75219, 75759, 33, 6),
    ("Göteborg", 41101, 41879, 33, 14), ("Mölndal", 43130, 43169, 32, 2),
    ("Malmö", 21110, 21774, 32, 9), ("Lund", 22220, 22739, 33, 3),
    ("Helsingborg", 25220, 25669, 32, 3), ("Linköping", 58210, 58937, 32, 3),
    ("Norrköping", 60210, 60386, 33, 3), ("Örebro", 70210, 70382, 33, 3),
    ("Västerås", 72210, 72592, 31, 3), ("Jönköping", 55310, 55649, 33, 2),
    ("Umeå", 90325, 90791, 34, 2), ("Luleå", 97231, 97754, 34, 1), ("Gävle", 80250, 80647, 33, 2),
    ("Sundsvall", 85230, 85754, 33, 1), ("Karlstad", 65220, 65675, 33, 1),
    ("Växjö", 35230, 35596, 33, 1), ("Halmstad", 30224, 30597, 33, 1),
    ("Borås", 50330, 50766, 33, 1), ("Kiruna", 98131, 98146, 35, 1), ("Visby", 62141, 62158, 33, 1),
)
_CITY_WEIGHTS = list(accumulate(c[4] for c in _CITIES))  # cumulative
# bank: clearing range, clearing digits, account digits, weight ("pnr": Nordea personkonto)
_BANKS = (
    ("Swedbank", 8100, 8999, 5, 10, 30), ("Handelsbanken", 6000, 6999, 4, 9, 20),
    ("SEB", 5000, 5999, 4, 7, 18), ("Nordea", 3300, 3300, 4, "pnr", 10),
    ("Nordea", 1100, 1199, 4, 7, 8), ("Danske Bank", 1200, 1399, 4, 7, 5),
    ("ICA Banken", 9270, 9279, 4, 7, 4), ("Länsförsäkringar", 9020, 9029, 4, 7, 5),
)
_BANK_WEIGHTS = list(accumulate(b[5] for b in _BANKS))  # cumulative
_MAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "live.se", "icloud.com", "telia.com",
                 "yahoo.se", "bredband.net", "spray.se", "comhem.se")
_MAIL_WEIGHTS = list(accumulate((35, 15, 8, 6, 8, 6, 4, 3, 2, 3)))  # cumulative
_WORK_DOMAIN = "demo-ab.se"
_MOBILE = ("70", "72", "73", "76", "79")


# --------------------------------------------------------------------------- the result

@dataclass(frozen=True, eq=False)
class Demo:
    """One generated demo: the HR export as text, the Kleer seed, and the truth between them."""

    hr: pd.DataFrame
    kleer_seed: dict
    truth: pd.DataFrame
    situations: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """Counts: HR rows, Kleer users (all, and employees), true pairs, rows per situation."""
        users = self.kleer_seed["users"]
        per = self.situations["situation"].value_counts()
        return {"hr": len(self.hr), "kleer_users": len(users),
                "kleer_employees": sum(1 for u in users if u["id"] != self.kleer_seed["me"]),
                "kleer_contracts": len(self.kleer_seed["payroll-user-readables"]),
                "true_pairs": len(self.truth),
                "situations": {s: int(per.get(s, 0)) for s in SITUATIONS}}


@dataclass(slots=True)
class _Slot:
    """One invented person and how each system holds them."""

    kind: str                    # "pair", "hr" (only in HR) or "kleer" (only in Kleer)
    situation: str               # the primary situation ("identical" when none)
    p: dict = field(default_factory=dict)     # the truth about the person
    hr: dict | None = None       # the person as HR holds them
    kl: dict | None = None       # the person as Kleer holds them
    hr_id: str | None = None
    kleer_id: int | None = None
    notes: list = field(default_factory=list)  # (situation, detail)


# --------------------------------------------------------------------------- small helpers

def _count(rate: float, total: int) -> int:
    return min(total, int(rate * total + 0.5))


@lru_cache(maxsize=4096)
def _strip_diacritics(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed
                                                if not unicodedata.combining(c)))


@lru_cache(maxsize=4096)
def _slug(s: str) -> str:
    """An email local part from a name: ASCII, lower case, no spaces."""
    s = _strip_diacritics(s).replace("ß", "ss").replace("æ", "ae").replace("ø", "o")
    return "".join(c for c in s.lower() if c.isalnum() or c == "-")


def _years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _between(rng: random.Random, lo: date, hi: date) -> date:
    if hi <= lo:
        return lo
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


def _first_name(rng: random.Random, female: bool, want: str | None = None) -> str:
    if want == "nickname":
        return rng.choice(_NICK_FEMALE if female else _NICK_MALE)
    if want == "diacritic":
        return rng.choice(_FEMALE_DIACRITIC if female else _MALE_DIACRITIC)
    if want == "foreign":
        return rng.choice(_FEMALE_FOREIGN if female else _MALE_FOREIGN)
    r = rng.random()
    if r < 0.09:
        return rng.choice(_FEMALE_DOUBLE if female else _MALE_DOUBLE)
    if r < 0.17:
        return rng.choice(_FEMALE_FOREIGN if female else _MALE_FOREIGN)
    return rng.choice(_FEMALE if female else _MALE)


def _last_name(rng: random.Random, want: str | None = None, first: str = "") -> str:
    if want == "diacritic":
        return rng.choice(_SURNAME_DIACRITIC)
    if want == "foreign" or first in _FEMALE_FOREIGN or first in _MALE_FOREIGN:
        if want == "foreign" or rng.random() < 0.8:
            return rng.choice(_SURNAME_FOREIGN)
    r = rng.random()
    if r < 0.05:
        a, b = rng.sample(_SURNAME_PARTS, 2)
        return f"{a}-{b}" if rng.random() < 0.5 else f"{a} {b}"
    if r < 0.075:
        return rng.choice(_SURNAME_PARTICLE)
    if r < 0.10:  # a Swedish first name with a foreign surname (and vice versa, above)
        return rng.choice(_SURNAME_FOREIGN)
    return rng.choice(_SURNAMES)


def _typo(rng: random.Random, s: str) -> str:
    """One typing error: a swapped pair, a dropped, doubled or neighbouring letter."""
    letters = [i for i, c in enumerate(s) if c.isalpha()]
    for _ in range(20):
        i = rng.choice(letters[1:] or letters)
        op = rng.randrange(4)
        if op == 0 and i + 1 < len(s) and s[i + 1].isalpha() and s[i] != s[i + 1]:
            out = s[:i] + s[i + 1] + s[i] + s[i + 2:]
        elif op == 1 and len(letters) > 3:
            out = s[:i] + s[i + 1:]
        elif op == 2:
            out = s[:i] + s[i] + s[i:]
        else:
            neighbours = {"a": "s", "s": "a", "e": "r", "r": "e", "n": "m", "m": "n", "i": "o",
                          "o": "i", "l": "k", "k": "l", "t": "r", "u": "y", "y": "u", "d": "s"}
            c = s[i]
            if c.lower() not in neighbours:
                continue
            sub = neighbours[c.lower()]
            out = s[:i] + (sub.upper() if c.isupper() else sub) + s[i + 1:]
        if out != s:
            return out
    return s + s[-1]


def _mobile(rng: random.Random) -> str:
    return f"+46{rng.choice(_MOBILE)}{rng.randrange(10_000_000):07d}"


def _phone(rng: random.Random) -> str:
    """A phone number in E.164: mostly mobiles, some landlines."""
    if rng.random() < 0.88:
        return _mobile(rng)
    if rng.random() < 0.6:
        return f"+468{rng.randrange(1_000_000, 10_000_000)}"          # Stockholm 08-
    return f"+4631{rng.randrange(100_000, 1_000_000)}"                 # Göteborg 031-


def _address(rng: random.Random) -> dict:
    city, lo, hi, table, _ = rng.choices(_CITIES, cum_weights=_CITY_WEIGHTS)[0]
    street = f"{rng.choice(_STREETS)} {rng.randint(1, 120)}"
    r = rng.random()
    if r < 0.08:
        street += rng.choice(("A", "B", "C"))
    elif r < 0.18:
        street += f" lgh {rng.randint(10, 16)}{rng.randint(0, 1)}{rng.randint(1, 9)}"
    return {"street": street, "zip": f"{rng.randint(lo, hi):05d}", "city": city,
            "tax_table": table}


def _bank(rng: random.Random, ssn: str) -> tuple[str, str]:
    _, lo, hi, clearing_digits, account_digits, _ = rng.choices(_BANKS, cum_weights=_BANK_WEIGHTS)[0]
    clearing = str(rng.randint(lo, hi))
    if clearing_digits == 5:
        clearing += str(rng.randrange(10))
    if account_digits == "pnr":  # Nordea personkonto: the account number is the personnummer
        account = ssn[2:8] + ssn[9:]
    else:
        account = f"{rng.randrange(10 ** (account_digits - 1), 10 ** account_digits)}"
    return clearing, account


# --------------------------------------------------------------------------- generation

class _Generator:
    def __init__(self, seed: int, today: date):
        self.rng = random.Random(seed)
        self.today = today
        self.used_ssn: set[str] = set()
        self.used_email: set[str] = set()
        self.work_locals: dict[str, int] = {}

    # ---- people

    def ssn(self, born: date, female: bool, coordination: bool) -> str:
        rng = self.rng
        while True:
            gender_digit = rng.choice((0, 2, 4, 6, 8) if female else (1, 3, 5, 7, 9))
            serial = rng.randrange(100) * 10 + gender_digit
            value = make_personnummer(born, serial, coordination=coordination)
            if value not in self.used_ssn:
                self.used_ssn.add(value)
                return value
            born = born + timedelta(days=1)

    def names(self, slot: _Slot) -> None:
        rng, sit = self.rng, slot.situation
        female = rng.random() < 0.5
        want_first = want_last = None
        if sit == "diacritics_dropped":
            want_first = "diacritic" if rng.random() < 0.5 else None
            want_last = "diacritic"
        elif sit == "nickname":
            want_first = "nickname"
            female = rng.random() < 0.2
        elif sit == "married_name":
            female = rng.random() < 0.85
        elif sit == "samordningsnummer" and rng.random() < 0.6:
            want_first = want_last = "foreign"
        first = _first_name(rng, female, want_first)
        slot.p.update(female=female, first=first, last=_last_name(rng, want_last, first))

    def person(self, slot: _Slot) -> None:
        rng, today, p = self.rng, self.today, slot.p
        p["born"] = born = today - timedelta(days=rng.randint(19 * 365 + 5, 66 * 365))
        p["ssn"] = self.ssn(born, p["female"], slot.situation == "samordningsnummer")
        adult = _years(born, 18)
        if slot.kind == "hr":      # new hires: started lately or about to start
            start = today + timedelta(days=rng.randint(-150, 60))
        elif slot.situation in ("former", "inactive_in_kleer"):  # left at least 20 days ago
            start = _between(rng, max(adult, _years(today, -25)), today - timedelta(days=400))
        else:
            start = _between(rng, max(adult, _years(today, -25)), today - timedelta(days=30))
        p["start"] = start
        end = None
        if slot.situation in ("inactive_in_kleer", "former"):
            end = _between(rng, start + timedelta(days=180), today - timedelta(days=20))
        elif rng.random() < 0.03:  # fixed-term contract that ends later
            end = today + timedelta(days=rng.randint(20, 300))
        p["end"] = end
        p["active"] = end is None or end >= today
        p["private_email"] = self.private_email(p["first"], p["last"], born)
        p["work_email"] = self.work_email(p["first"], p["last"])
        p["phone"] = _phone(rng)
        p["co"] = f"c/o {rng.choice(_SURNAMES)}" if rng.random() < 0.03 else None
        address = _address(rng)
        p.update(street=address["street"], zip=address["zip"], city=address["city"],
                 country="SE")
        p["tax_table"] = address["tax_table"]
        p["tax_col"] = 1 if rng.random() < 0.88 else rng.randint(2, 6)
        age = (today - born).days // 365
        p["salary"] = int(min(95_000, 24_000 + 700 * min(age - 18, 30) + rng.randint(0, 300) * 100))
        last_day = end if end is not None and end < today else today  # the last salary revision
        last_april = last_day.year if last_day.month >= 4 else last_day.year - 1
        p["salary_start"] = max(start, date(last_april - rng.randint(0, 2), 4, 1))
        p["clearing"], p["account"] = _bank(rng, p["ssn"])
        p["emp_no"] = None

    def private_email(self, first: str, last: str, born: date) -> str:
        rng = self.rng
        f, l_ = _slug(first), _slug(last)
        domain = rng.choices(_MAIL_DOMAINS, cum_weights=_MAIL_WEIGHTS)[0]
        local = rng.choice((f"{f}.{l_}", f"{f}{l_}", f"{f}.{l_}{born.year % 100:02d}",
                            f"{f[0]}.{l_}", f"{f}_{l_}", f"{f}{born.year % 100:02d}"))
        address = f"{local}@{domain}"
        while address in self.used_email:
            address = f"{local}{rng.randint(1, 999)}@{domain}"
        self.used_email.add(address)
        return address

    def older_email(self, current: str) -> str:
        """The same local part as ``current`` at another provider: an address given up."""
        local, domain = current.split("@")
        others = [d for d in _MAIL_DOMAINS if d != domain and f"{local}@{d}" not in self.used_email]
        address = f"{local}@{self.rng.choice(others)}"
        self.used_email.add(address)
        return address

    def work_email(self, first: str, last: str) -> str:
        """first.last@ the company; namesakes get first.last2, first.last3, …"""
        local = f"{_slug(first)}.{_slug(last)}"
        k = self.work_locals.get(local, 0)
        address = f"{local}{k + 1 if k else ''}@{_WORK_DOMAIN}"
        while address in self.used_email:
            k += 1
            address = f"{local}{k + 1}@{_WORK_DOMAIN}"
        self.work_locals[local] = k + 1
        self.used_email.add(address)
        return address

    # ---- situations

    def apply(self, slot: _Slot, spare_numbers: list[int], next_number: list[int]) -> None:
        """Build both views of a true pair and apply its situation."""
        rng, p = self.rng, slot.p
        hr, kl = slot.hr, slot.kl
        sit, detail = slot.situation, ""
        if sit == "diacritics_dropped":
            side = hr if rng.random() < 0.5 else kl
            side["first"], side["last"] = _strip_diacritics(p["first"]), _strip_diacritics(p["last"])
            detail = f"{'HR' if side is hr else 'Kleer'} writes {side['first']} {side['last']}"
        elif sit == "nickname":
            side = kl if rng.random() < 0.7 else hr
            side["first"] = NICKNAMES[p["first"]]
            detail = f"{'Kleer' if side is kl else 'HR'} uses {side['first']} for {p['first']}"
        elif sit == "name_swapped":
            kl["name"] = f"{p['last']} {p['first']}"
            detail = f"Kleer name {kl['name']!r}"
        elif sit == "married_name":
            old = rng.choice([s for s in _SURNAMES if s != p["last"]])
            side = kl if rng.random() < 0.7 else hr
            side["last"] = old
            detail = (f"{'Kleer' if side is kl else 'HR'} still has {old}, "
                      f"{'HR' if side is kl else 'Kleer'} has {p['last']}")
        elif sit == "name_typo":
            side = hr if rng.random() < 0.5 else kl
            part = "first" if rng.random() < 0.5 else "last"
            side[part] = _typo(rng, p[part])
            detail = f"{'HR' if side is hr else 'Kleer'} writes {side[part]} for {p[part]}"
        elif sit == "ssn_missing_in_hr":
            hr["ssn"] = None
            detail = "HR has only the birth date"
        elif sit == "ssn_missing_in_kleer":
            kl["contract"] = False
            detail = "Kleer user without a payroll contract"
        elif sit == "ssn_10_digit":
            hr["ssn_style"] = "10"
            detail = f"HR writes {p['ssn'][2:]}"
        elif sit == "samordningsnummer":
            detail = f"day of birth {p['ssn'][6:8]}"
        elif sit == "private_vs_work_email":
            hr["private_email"] = None
            detail = f"Kleer {p['private_email']}, HR only {p['work_email']}"
        elif sit == "kleer_has_work_email":
            kl["email"] = p["work_email"]
            detail = f"Kleer {p['work_email']}"
        elif sit == "inactive_in_kleer":
            detail = f"ended {p['end'].isoformat()}"
        elif sit == "employee_number_differs":
            if spare_numbers:
                kl["emp_no"] = spare_numbers.pop()
                detail = f"HR {p['emp_no']}, Kleer {kl['emp_no']} (another HR employee's number)"
            else:
                kl["emp_no"] = next_number[0]
                next_number[0] += 1
                detail = f"HR {p['emp_no']}, Kleer {kl['emp_no']}"
        elif sit == "fields_differ":
            changed = rng.sample(("phone", "address", "salary", "tax", "bank"), rng.randint(1, 3))
            for what in sorted(changed):
                if what == "phone":
                    kl["phone"] = _phone(rng)
                elif what == "address":
                    a = _address(rng)
                    kl.update(street=a["street"], zip=a["zip"], city=a["city"])
                elif what == "salary":
                    kl["salary"] = p["salary"] - rng.randint(2, 30) * 100
                elif what == "tax":
                    kl["tax_table"] = rng.choice([t for t in range(29, 36) if t != p["tax_table"]])
                else:
                    kl["clearing"], kl["account"] = _bank(rng, p["ssn"])
            detail = "Kleer differs in " + ", ".join(sorted(changed))
        if sit != "namesake":  # noted for both namesakes, once their HR ids are known
            slot.notes.append((sit, detail))

    def combine(self, slots: list[_Slot], pairs: list[_Slot], rng: random.Random) -> None:
        """Turn some ``identical`` pairs into :data:`COMBINED_SITUATIONS` (``rng``: their own
        stream; the generator's is restored afterwards, so rendering does not move)."""
        main_rng, self.rng = self.rng, rng
        try:
            # with most evidence gone, the name must be the person's own: a second "Hans
            # Lundström" with the same local part would be a coin toss, not a review
            names = Counter((s.p["first"], s.p["last"]) for s in slots)
            numbers = [n for s in slots for n in (s.p.get("emp_no"), (s.kl or {}).get("emp_no")) if n]
            self.old_number = [10 ** len(str(max(numbers)))]  # longer than any in use
            free = [s for s in pairs if s.situation == "identical" and not s.kl.get("foreign_id")
                    and s.p.get("namesake_of") is None and names[(s.p["first"], s.p["last"])] == 1]
            rng.shuffle(free)
            wanted = {name: _count(rate, len(pairs)) for name, rate in COMBINED_SITUATIONS}
            # nickname forms need a first name that has one: take those first
            nick = [s for s in free if s.p["first"] in NICKNAME_FORMS]
            nick = nick[:wanted.get("nickname_no_contract", 0)]
            in_nick = {id(s) for s in nick}
            rest = [s for s in free if id(s) not in in_nick]
            chosen = {"nickname_no_contract": nick} if "nickname_no_contract" in wanted else {}
            for name, _ in COMBINED_SITUATIONS:
                if name == "typos_in_both_names":  # a typo in "Ek" makes another name, not a typo
                    # nor in a name of several words, which Kleer's one name may split anew
                    fit = [s for s in rest if min(len(s.p["first"]), len(s.p["last"])) >= 4
                           and " " not in s.p["first"] + s.p["last"]]
                    chosen[name] = fit[:wanted[name]]
                    rest = [s for s in rest if not any(s is c for c in chosen[name])]
                elif name != "nickname_no_contract":
                    chosen[name], rest = rest[:wanted[name]], rest[wanted[name]:]
            taken = {id(s) for group in chosen.values() for s in group}
            # a namesake's source is a pair whose own Kleer user has its personnummer, so the
            # source is surely linked and the namesake's Kleer user is left for the other one
            sources = [s for s in slots if s.kind == "pair" and id(s) not in taken
                       and s.kl["contract"] and s.kl["ssn"] and s.hr["ssn"]
                       and " " not in s.p["first"] + s.p["last"]  # Kleer's one name splits alike
                       and names[(s.p["first"], s.p["last"])] == 1  # no third with that name
                       and s.situation not in _NAME_SITUATIONS and s.p.get("namesake_of") is None
                       and not s.hr.get("bad_ssn")
                       and "@gmailcom" not in (s.hr["private_email"] or "")]
            rng.shuffle(sources)
            for name, _ in COMBINED_SITUATIONS:
                for slot in chosen[name]:
                    source = sources.pop() if name == "namesake_no_contract" and sources else None
                    if name == "namesake_no_contract" and source is None:
                        continue
                    detail = self.combined(slot, name, source)
                    slot.situation = name
                    slot.notes = [(name, detail) if n == "identical" else (n, d)
                                  for n, d in slot.notes]
                    if source is not None:
                        slot.notes.append(("namesake", f"same name as {source.hr_id}"))
                        source.notes.append(("namesake", f"same name as {slot.hr_id}"))
        finally:
            self.rng = main_rng

    def combined(self, slot: _Slot, name: str, source: _Slot | None) -> str:
        """Apply one combined situation to an identical pair; returns its detail."""
        rng, p, hr, kl = self.rng, slot.p, slot.hr, slot.kl
        if name == "married_no_ssn_new_email":
            old = rng.choice([s for s in _SURNAMES if s[0] != p["last"][0]])  # not a typo of it
            kl["last"] = old
            kl["email"] = self.private_email(p["first"], old, p["born"])
            hr["ssn"], hr["ssn_dropped"] = None, True
            a = _address(rng)  # moved to another town when she married: Kleer keeps the old home
            while a["city"] == p["city"]:
                a = _address(rng)
            kl.update(street=a["street"], zip=a["zip"], city=a["city"], phone=_phone(rng))
            kl["emp_no"] = self.old_number[0]  # from her first employment, nobody's now
            self.old_number[0] += 1
            return (f"HR {p['last']}, Kleer still {old}; HR has no personnummer; "
                    f"Kleer {kl['email']}, HR {hr['private_email']}; Kleer has her old "
                    f"address, phone and employee number {kl['emp_no']}")
        if name == "namesake_no_contract":
            first, last = source.p["first"], source.p["last"]
            private = self.private_email(first, last, p["born"])
            work = self.work_email(first, last)
            for view in (p, hr, kl):
                view.update(first=first, last=last, private_email=private, work_email=work)
            kl["contract"] = False
            kl["emp_no"] = None
            kl["email"] = self.older_email(private)
            p["namesake_of"], source.p["namesake_of"] = source, slot
            return (f"same name as {source.hr_id}; no payroll contract, no internal-id; "
                    f"Kleer {kl['email']}, HR {private}")
        if name == "typos_in_both_names":
            side = hr if rng.random() < 0.5 else kl
            side["first"], side["last"] = _typo(rng, p["first"]), _typo(rng, p["last"])
            kl["contract"] = False
            kl["emp_no"] = None
            kl["email"] = self.older_email(hr["private_email"])
            return (f"{'HR' if side is hr else 'Kleer'} writes {side['first']} {side['last']} "
                    f"for {p['first']} {p['last']}; no payroll contract, no internal-id; "
                    f"Kleer {kl['email']}, HR {hr['private_email']}")
        form = NICKNAME_FORMS[p["first"]]
        kl["first"] = form
        kl["email"] = self.older_email(hr["private_email"])
        kl["contract"] = False
        kl["emp_no"] = None
        return (f"Kleer {form} for {p['first']}, {kl['email']}, HR {hr['private_email']}; "
                f"no payroll contract, no internal-id")

    # ---- HR rendering: raw text, as people and HR systems type it

    def hr_date(self, d: date | None, dmy: bool) -> str:
        if d is None:
            return ""
        return d.strftime("%d/%m/%Y") if dmy else d.isoformat()

    def hr_phone(self, e164: str) -> str:
        rng = self.rng
        national = "0" + e164[3:]
        if e164.startswith("+467"):
            a, b = national[:3], national[3:]
            return rng.choices((
                f"{a}-{b[:3]} {b[3:5]} {b[5:]}", f"+46 {a[1:]} {b[:3]} {b[3:5]} {b[5:]}",
                national, f"{a} {b[:3]} {b[3:5]} {b[5:]}", e164, f"{a}-{b}"),
                weights=(35, 15, 20, 15, 10, 5))[0]
        area = 2 if e164.startswith("+468") else 3
        a, b = national[:area], national[area:]
        return f"{a}-{b[:-4]} {b[-4:-2]} {b[-2:]}" if rng.random() < 0.7 else f"{a}-{b}"

    def hr_row(self, slot: _Slot) -> list[str]:
        rng, h = self.rng, slot.hr
        dmy = rng.random() < 0.15
        ssn = h["ssn"]
        if ssn is None:
            ssn_text = ""
            if h.get("ssn_dropped"):  # by a combined situation: draw as if it were there, so
                rng.random()          # the rows after it render as they did without it
        elif h.get("ssn_style") == "10":
            ssn_text = ssn[2:]
        elif rng.random() < 0.12:
            ssn_text = ssn.replace("-", "")
        else:
            ssn_text = ssn
        if h.get("bad_ssn"):
            ssn_text = ssn_text[:-1] + str((int(ssn_text[-1]) + 1) % 10)
        private = h["private_email"] or ""
        if private and rng.random() < 0.05:
            local, _, domain = private.partition("@")
            private = ".".join(w.capitalize() for w in local.split(".")) + "@" + domain
        zip_code = h["zip"] if rng.random() < 0.4 else f"{h['zip'][:3]} {h['zip'][3:]}"
        salary = str(h["salary"])
        if rng.random() < 0.1:
            salary = f"{salary[:-3]} {salary[-3:]}"
        clearing = h["clearing"] if len(h["clearing"]) == 4 else f"{h['clearing'][:4]}-{h['clearing'][4]}"
        return [
            slot.hr_id,
            h["first"],
            h["last"],
            ssn_text,
            self.hr_date(h["born"], dmy) if h["ssn"] is None else "",
            private,
            h["work_email"],
            self.hr_phone(h["phone"]),
            h["co"] or "",
            h["street"],
            zip_code,
            h["city"],
            "Sverige" if rng.random() < 0.7 else "SE",
            self.hr_date(h["start"], dmy),
            self.hr_date(h["end"], dmy),
            str(h["emp_no"]),
            salary,
            str(h["tax_table"]),
            str(h["tax_col"]),
            clearing,
            h["account"],
            "ja" if h["active"] else "nej",
        ]

    # ---- Kleer rendering: canonical values, one name, E.164

    def kleer_user(self, slot: _Slot) -> dict:
        k = slot.kl
        return {"id": slot.kleer_id, "foreign-id": k.get("foreign_id"),
                "internal-id": k.get("emp_no"),
                "name": k.get("name") or join_name(k["first"], k["last"]),
                "email": k["email"], "active": bool(k["active"])}

    def kleer_contract(self, slot: _Slot) -> dict:
        k = slot.kl
        return {"user": {"id": slot.kleer_id}, "ssn": k["ssn"], "address1": k["co"],
                "address2": k["street"], "zip-code": k["zip"], "state": k["city"],
                "country-code": k["country"], "phone": k["phone"], "tax-table": k["tax_table"],
                "tax-table-column": k["tax_col"], "clearing-nr": k["clearing"],
                "account-nr": k["account"],
                "employment-start-date": k["start"].isoformat(),
                "employment-end-date": k["end"].isoformat() if k["end"] else None,
                "monthly-salary": k["salary"],
                "monthly-salary-start-date": k["salary_start"].isoformat(),
                "hourly-salary": None, "manager-user": None, "notes": None}


def generate(n_people: int = 300, *, seed: int = 7, today: date = date(2026, 11, 1)) -> Demo:
    """Invent ``n_people`` HR employees and the Kleer users that (mostly) correspond to them.

    About :data:`ONLY_IN_HR_RATE` of the HR employees have no Kleer user, about
    ``ONLY_IN_KLEER_RATE × n_people`` Kleer users have no HR row, and every true pair gets one
    situation from :data:`PAIR_SITUATIONS` at its rate (the rest are ``identical``). The same
    arguments always give the same demo.
    """
    if n_people < 1:
        raise ValueError("n_people must be at least 1")
    g = _Generator(seed, today)
    rng = g.rng

    # 1. who exists where, and what makes each true pair hard
    n_only_hr = _count(ONLY_IN_HR_RATE, n_people)
    n_pairs = n_people - n_only_hr
    n_only_kleer = _count(ONLY_IN_KLEER_RATE, n_people)
    pair_situations: list[str] = []
    for name, rate in PAIR_SITUATIONS:
        pair_situations += [name] * _count(rate, n_pairs)
    pair_situations = pair_situations[:n_pairs]
    pair_situations += ["identical"] * (n_pairs - len(pair_situations))
    rng.shuffle(pair_situations)
    n_former, n_no_contract = _count(0.4, n_only_kleer), _count(0.3, n_only_kleer)
    kleer_kinds = ["former"] * n_former + ["no_contract"] * n_no_contract
    kleer_kinds += ["current"] * (n_only_kleer - len(kleer_kinds))
    slots = [_Slot("pair", s) for s in pair_situations]
    slots += [_Slot("hr", "only_in_hr") for _ in range(n_only_hr)]
    slots += [_Slot("kleer", kind) for kind in kleer_kinds]
    rng.shuffle(slots)

    # 2. names; namesakes take the name of someone whose HR name no situation changes
    for slot in slots:
        g.names(slot)
    in_hr = [s for s in slots if s.kind != "kleer"]
    targets = [s for s in in_hr if s.situation == "namesake"]
    sources = rng.sample([s for s in in_hr if s.situation not in _NAME_SITUATIONS],
                         min(len(targets), sum(s.situation not in _NAME_SITUATIONS for s in in_hr)))
    for target, source in zip(targets, sources):
        target.p["first"], target.p["last"] = source.p["first"], source.p["last"]
        target.p["namesake_of"], source.p["namesake_of"] = source, target
    for target in targets[len(sources):]:  # a tiny demo may have no one to share a name with
        target.situation = "identical"

    # 3. everything else about each person
    for slot in slots:
        g.person(slot)

    # 4. ids: HR ids and employee numbers follow the hiring order
    hired = sorted(slots, key=lambda s: (s.p["start"], s.p["ssn"]))
    number, hr_number = 2001, 10001
    for slot in hired:
        if not (slot.kind == "kleer" and slot.situation == "no_contract"):
            slot.p["emp_no"] = number
            number += rng.randint(1, 2)
        if slot.kind != "kleer":
            slot.hr_id = f"E{hr_number}"
            hr_number += rng.randint(1, 3)
    kleer_slots = [s for s in slots if s.kind != "hr"]
    rng.shuffle(kleer_slots)
    for i, slot in enumerate(kleer_slots):
        slot.kleer_id = 1001 + i

    # 5. the two views, then the situations
    only_hr = [s for s in hired if s.kind == "hr"]
    spare_numbers = [s.p["emp_no"] for s in only_hr]
    rng.shuffle(spare_numbers)
    next_number = [number + 5000]
    for slot in hired:
        if slot.kind != "kleer":
            slot.hr = dict(slot.p)
        if slot.kind != "hr":
            slot.kl = dict(slot.p, email=slot.p["private_email"], contract=True)
    for slot in hired:
        if slot.kind == "pair":
            g.apply(slot, spare_numbers, next_number)
        elif slot.kind == "hr":
            slot.notes.append(("only_in_hr", f"starts {slot.p['start'].isoformat()}"))
        else:
            slot.notes.append(("only_in_kleer", {"former": "former employee",
                                                 "no_contract": "user without payroll contract",
                                                 "current": "employee missing from the HR export"}
                               [slot.situation]))
            if slot.situation == "former":
                slot.notes.append(("inactive_in_kleer", f"ended {slot.p['end'].isoformat()}"))
            elif slot.situation == "no_contract":
                slot.kl["contract"] = False
                slot.notes.append(("no_payroll_contract", "consultant or board member"))
    pairs = [s for s in hired if s.kind == "pair"]
    for slot in rng.sample(pairs, _count(FOREIGN_ID_RATE, len(pairs))):
        slot.kl["foreign_id"] = slot.hr_id
        slot.notes.append(("foreign_id_set", f"foreign-id {slot.hr_id}"))
    for slot in slots:
        other = slot.p.get("namesake_of")
        if other is not None:
            slot.notes.append(("namesake", f"same name as {other.hr_id}"))
    # deliberate bad cells, on new hires only (they have no Kleer user, so the truth is clean)
    n_bad = _count(BAD_CELL_RATE, n_people)
    clean_new = [s for s in only_hr if s.p.get("namesake_of") is None]
    chosen = rng.sample(clean_new, min(len(clean_new), 2 * n_bad))
    for slot in chosen[:n_bad]:
        slot.hr["bad_ssn"] = True
        slot.notes.append(("bad_personnummer", "Personnummer: wrong check digit"))
    for slot in chosen[n_bad:]:
        local = slot.hr["private_email"].split("@")[0]
        slot.hr["private_email"] = f"{local}@gmailcom"
        slot.notes.append(("bad_email", "Privat e-post: no dot in the domain"))

    # 5b. combined situations, from their own random stream (see COMBINED_SITUATIONS)
    g.combine(slots, pairs, random.Random(seed * 7919 + 104729))

    # 6. render
    hr_slots = [s for s in hired if s.kind != "kleer"]  # hired order = HR id order
    hr = pd.DataFrame([g.hr_row(s) for s in hr_slots], columns=list(HR_COLUMNS), dtype=str)
    by_kleer_id = sorted(kleer_slots, key=lambda s: s.kleer_id)
    me = {"id": 1, "foreign-id": None, "internal-id": None, "name": "Kleer Workbench Integration",
          "email": f"integration@{_WORK_DOMAIN}", "active": True}
    kleer_seed = {
        "company": {"id": 1, "name": "Demo AB"},
        "me": 1,
        "users": [me] + [g.kleer_user(s) for s in by_kleer_id],
        "payroll-user-readables": [g.kleer_contract(s) for s in by_kleer_id if s.kl["contract"]],
    }
    truth = pd.DataFrame({"hr_id": [s.hr_id for s in hr_slots if s.kind == "pair"],
                          "kleer_id": [s.kleer_id for s in hr_slots if s.kind == "pair"]})
    truth["kleer_id"] = truth["kleer_id"].astype("int64")
    order = {name: i for i, name in enumerate(SITUATIONS)}
    rows = [(s.hr_id, s.kleer_id, name, detail) for s in slots for name, detail in s.notes]
    rows.append((None, 1, "integration_user", "the token's own user (me)"))
    rows.sort(key=lambda r: (order[r[2]], r[0] is None, int(r[0][1:]) if r[0] else 0,
                             r[1] or 0))
    situations = pd.DataFrame(rows, columns=["hr_id", "kleer_id", "situation", "detail"])
    situations["kleer_id"] = situations["kleer_id"].astype("Int64")
    return Demo(hr=hr, kleer_seed=kleer_seed, truth=truth, situations=situations)


def write(demo: Demo, folder: str | Path) -> dict[str, Path]:
    """Write the demo's four files into ``folder`` (created when missing); returns their paths.

    UTF-8, ``\\n`` line ends and a fixed key order, so the same demo always gives the same bytes.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {role: folder / name for role, name in FILES.items()}
    demo.hr.to_csv(paths["hr"], index=False, encoding="utf-8", lineterminator="\n")
    paths["kleer_seed"].write_text(json.dumps(demo.kleer_seed, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    demo.truth.to_csv(paths["truth"], index=False, encoding="utf-8", lineterminator="\n")
    demo.situations.to_csv(paths["situations"], index=False, encoding="utf-8",
                           lineterminator="\n")
    return paths
