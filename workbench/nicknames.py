"""Given names that stand for the same person: nicknames and spelling variants.

The matcher treats "Kalle Andersson" and "Karl Andersson" as the same name and says why ("First
name Kalle is a nickname of Karl"). The table is data: one row per formal name, its spelling
variants (Karl/Carl) and its nicknames (Kalle, Calle). Swedish and English names, written as
people write them; comparison happens on :func:`workbench.normalize.name_key` (case and
diacritics folded), so "Pär" and "Par" are the same entry.

A nickname that belongs to several formal names (Alex: Alexander, Alexandra) is listed under the
first only: merging the two would make siblings look alike, which is worse than missing a match.

Where it comes from: the table was curated by hand from general knowledge of Swedish (and some
English) naming usage; no name register, dictionary or list was consulted or copied, and it is not
exhaustive. It holds, per formal given name: spelling variants (Karl/Carl, Mikael/Michael,
Kristina/Christina), everyday short forms (Kalle, Lasse, Pelle, Stina), -an/-is/-e forms
(Jessan, Vickan, Madde, Kajsa), dropped-first-syllable forms (Tilda, Lisa, Stina) and a few
English diminutives (Bob, Bill, Kate). Beyond the table, :func:`hypocoristic` recognises the
common Swedish ways of forming a short form: a stem plus ``-an``/``-is``/``-isen``/``-sa``/``-e``/
``-a``/``-y``/``-ie`` (Jessica → Jessan, Viktoria → Vickan, Madeleine → Madde) and a dropped first
syllable (Matilda → Tilda).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .normalize import name_key

__all__ = ["NameGroup", "GROUPS", "canonical", "relation", "formal_name", "is_nickname",
           "hypocoristic"]


@dataclass(frozen=True, slots=True)
class NameGroup:
    """One formal given name with its spelling variants and nicknames."""

    formal: str
    variants: tuple[str, ...] = ()
    nicknames: tuple[str, ...] = ()


def _g(formal: str, variants: str = "", nicknames: str = "") -> NameGroup:
    """One group; a nickname written with a trailing "-" is a short form of this name too but
    is listed under another name already (it stays there: see the module docstring)."""
    return NameGroup(formal, tuple(variants.split()),
                     tuple(n for n in nicknames.split() if not n.endswith("-")))


GROUPS: tuple[NameGroup, ...] = (
    # Swedish
    _g("Karl", "Carl", "Kalle Calle"),
    _g("Lars", "", "Lasse"),
    _g("Per", "Pär Pehr", "Pelle"),
    _g("Jan", "", "Janne"),
    _g("Mikael", "Michael Mikail Michel", "Micke Mike Mikke Mickey"),
    _g("Nils", "", "Nisse"),
    _g("Olof", "Olov Olaf", "Olle"),
    _g("Bo", "", "Bosse"),
    _g("Kristina", "Christina Cristina Kristine Christine", "Stina Kicki Tina"),
    _g("Charlotte", "Charlotta Sharlotte", "Lotta Lotte Charlie"),
    _g("Joakim", "Joachim Jockum", "Jocke"),
    _g("Thomas", "Tomas", "Tompa Tom Tommy"),
    _g("Fredrik", "Frederik Fredric Frederick", "Fredde Freddie Fred"),
    _g("Magnus", "", "Mange"),
    _g("Stefan", "Steffan Stephan Stephen Steven", "Steffe Steve"),
    _g("Gustav", "Gustaf", "Gurra Gus Gösta"),
    _g("Margareta", "Margaretha Margret Margaret", "Maggan Greta Maggie Meg Peggy"),
    _g("Katarina", "Katharina Catharina Catarina Katrin Catherine Katherine Kathryn",
       "Kattis Kate Katie Kathy Cathy Kat"),
    _g("Elisabet", "Elisabeth Elizabeth Elisabath", "Lisa Lisbeth Lisen Betty Liz Beth"),
    _g("Birgitta", "Brigitta Brigitte", "Gittan Bitte"),
    _g("Susanne", "Susanna Suzanne Susan", "Sussie Susie Sue"),
    _g("Madeleine", "Madelene Magdalena Madeline", "Madde Maddie"),
    _g("Josefin", "Josefine Josephine", "Jossan Josie"),
    _g("Alexander", "Aleksander", "Alex Acke Sasha"),
    _g("Daniel", "", "Danne Dan Danny"),
    _g("Mattias", "Matthias Matias", "Matte"),
    _g("Henrik", "Henric Henry", "Henke Hank"),
    _g("Patrik", "Patrick Patric", "Patte Pat"),
    _g("Niklas", "Nicklas Nicolas Nikolas Nicholas", "Nicke Nick Nikke"),
    _g("Kristoffer", "Christoffer Christopher Kristofer Cristoffer", "Krille Chris Kris Stoffe"),
    _g("Sebastian", "", "Sebbe Seb"),
    _g("Jonas", "", "Jonte"),
    _g("Marcus", "Markus", "Macke"),
    _g("David", "", "Dave Davve"),
    _g("Rikard", "Richard Rickard", "Rick Ricky Dick Rikke"),
    _g("Edvard", "Edward", "Eddie Ed Ted Teddy"),
    _g("Benjamin", "", "Ben Benny Benke"),
    _g("Samuel", "", "Sam Sammy"),
    _g("Lennart", "", "Lelle Lenny"),
    _g("Sven", "Svend", "Svenne"),
    _g("Torbjörn", "Thorbjörn", "Tobbe"),
    _g("Ulf", "", "Uffe"),
    _g("Rolf", "", "Roffe"),
    _g("Leif", "", "Leffe"),
    _g("Hans", "", "Hasse"),
    _g("Ingemar", "Ingmar", "Inge"),
    _g("Bengt", "", "Bengan"),
    _g("Erik", "Eric Erick Eirik", "Erre"),
    _g("Ludvig", "Ludwig", "Ludde"),
    _g("Oskar", "Oscar", "Ogge Osse"),
    _g("Viktor", "Victor", "Vicke"),
    _g("Filip", "Philip Phillip Filipp", "Fille Phil"),
    _g("Jakob", "Jacob Jacop", "Jake Jacke"),
    _g("Alfred", "", "Affe Alfie"),
    _g("Cecilia", "Cecilie", "Cissi Cilla"),
    _g("Camilla", "Kamilla", "Milla"),
    _g("Karolina", "Carolina Caroline Karoline", "Carro Caro Kajan"),
    _g("Viktoria", "Victoria", "Vicky"),
    _g("Rebecka", "Rebecca Rebekka", "Becky Becca"),
    _g("Sofia", "Sophia Sofie Sophie", "Fia Soffi"),
    _g("Gabriella", "Gabriela", "Gabbi"),
    _g("Kristian", "Christian Cristian", "Kicke"),
    _g("Anders", "", "Ante"),
    _g("Ingrid", "", "Ingis"),
    _g("Barbro", "", "Babs"),
    _g("Karin", "Carin", "Kajsa Kaja Kia"),
    _g("Jessica", "Jessika Jesica", "Jessan Jess Jessie"),
    _g("Matilda", "Mathilda", "Tilda Tilde Mattis"),
    _g("Anna", "Ana", "Annie Anki Annika-"),
    _g("Eva", "Eeva", "Evi Evis"),
    _g("Maria", "Marie Mari", "Mia Maja Mimmi"),
    _g("Johanna", "Johana", "Hanna- Jossan- Jojje- Jo"),
    _g("Johan", "", "Jojje Jocke- Hasse-"),
    _g("Ingela", "", "Ingis-"),
    _g("Helena", "Helene Heléne Elena", "Lena- Hella"),
    _g("Kerstin", "Kjerstin", "Kickan Kiki Kersti"),
    _g("Marianne", "Mariann", "Mian Mimmi-"),
    _g("Gunilla", "Gunnila", "Gunsan Nilla"),
    _g("Ulrika", "Ulrica", "Ullis Ulla"),
    _g("Annelie", "Anneli Annelie", "Anneli-"),
    _g("Louise", "Lovisa Louisa Luise", "Lollo Lussan Lou"),
    _g("Emelie", "Emilie Emily Emili", "Emmy Emmi"),
    _g("Emma", "", "Emmis"),
    _g("Amanda", "", "Mandy Manda Amis"),
    _g("Therese", "Theresa Teresa Terese Tereza", "Tessan Tess Terre"),
    _g("Linnea", "Linnéa Linea", "Linn- Nea"),
    _g("Hanna", "Hannah", "Hannis Hannan"),
    _g("Elin", "Eline", "Ellie Ellis"),
    _g("Ida", "", "Idde Iddan"),
    _g("Sara", "Sarah Zara", "Sarre Sassa Sanna"),
    _g("Lina", "", "Linis"),
    _g("Frida", "Frieda", "Fridde Frippe"),
    _g("Agneta", "Agnetha", "Agge Neta"),
    _g("Inger", "", "Ingan"),
    _g("Monica", "Monika", "Monki Moni"),
    _g("Annika", "Anneka Annica", "Nicka Anki-"),
    _g("Ebba", "", "Ebbis"),
    _g("Alexandra", "Aleksandra", "Sandra Sanna- Alexa Sasha-"),
    _g("Andreas", "", "Andy- Adde Dreas"),
    _g("Anton", "", "Tony- Totte"),
    _g("Axel", "", "Acke- Axe"),
    _g("Björn", "Bjorn", "Bjärne Nalle"),
    _g("Christer", "Krister", "Kicken Christ"),
    _g("Emil", "", "Emme Milo"),
    _g("Gabriel", "", "Gabbe Gabbi-"),
    _g("Gunnar", "", "Gurra- Gunne"),
    _g("Göran", "Jöran Jörgen Georg", "Göte Gurra- Jörre"),
    _g("Hampus", "", "Hampe"),
    _g("Isak", "Isac Isaac", "Igge"),
    _g("Jesper", "", "Jeppe Jeppan"),
    _g("Jonathan", "Jonatan", "Jonte- Jojje- Jonna"),
    _g("Kent", "", "Kenta"),
    _g("Kjell", "", "Kjelle"),
    _g("Lucas", "Lukas", "Luke Lulle"),
    _g("Martin", "Morten Mårten", "Matte- Marre Tinte"),
    _g("Max", "Maximilian", "Maxe Maxi"),
    _g("Mats", "Mads Matts", "Matsan Masse"),
    _g("Oliver", "Olivér", "Olle- Ollie"),
    _g("Peter", "Petter Peder", "Pelle- Pete Pettan"),
    _g("Roger", "Rodger", "Rogge"),
    _g("Simon", "Symon", "Sigge- Simme"),
    _g("Tobias", "", "Tobbe- Tobbis"),
    _g("Vilma", "Wilma", "Villan"),
    _g("Elsa", "", "Elsis"),
    _g("Astrid", "", "Assi Asta"),
    _g("Sigrid", "", "Siggan Sigge-"),
    _g("Ronja", "", "Ronjis"),
    # English
    _g("William", "Vilhelm Wilhelm", "Bill Billy Will Willy Wille"),
    _g("Robert", "", "Bob Bobby Rob Robban Robbie"),
    _g("James", "", "Jim Jimmy Jamie"),
    _g("John", "", "Johnny Jack"),
    _g("Joseph", "Josef", "Joe Joey"),
    _g("Anthony", "Antony", "Tony"),
    _g("Jennifer", "", "Jenny Jennie Jennis Jen"),
    _g("Patricia", "", "Patsy Trish"),
    _g("Andrew", "", "Andy Drew"),
    _g("Matthew", "", "Matt"),
    _g("Nathaniel", "Nathanael", "Nate Nat"),
)


_ENDINGS = ("isen", "an", "is", "sa", "ie", "e", "a", "y", "o")


def _sound(token: str) -> str:
    """A rough spelling key for short forms: ck/c/ch → k, ph → f, th → t, doubled letters single."""
    import re

    t = token.replace("ck", "k").replace("ch", "k").replace("ph", "f").replace("th", "t")
    t = t.replace("c", "k").replace("w", "v").replace("z", "s")
    return re.sub(r"(.)\1+", r"\1", t)


def hypocoristic(formal: str, short: str) -> bool:
    """Whether a folded ``short`` looks like a Swedish short form of the folded ``formal`` by rule:
    a stem of at least three letters that begins ``formal`` plus a typical ending (Jessan,
    Vickan, Madde, Tobbe), or the end of ``formal`` without its first syllable (Tilda). Two
    names of equal length are never short forms of each other."""
    if not formal or not short or len(short) >= len(formal) or formal == short:
        return False
    f, s = _sound(formal), _sound(short)
    if len(s) >= 4 and f.endswith(s) and len(f) - len(s) <= 3:
        return True
    for ending in _ENDINGS:
        if not (s.endswith(ending) and len(s) - len(ending) >= 3):
            continue
        stem = s[:-len(ending)]
        # -e, -a, -ie, -y, -o make a short form only after a doubled consonant (Madde, Tobbe,
        # Micke): "Anne" and "Anna" are names of their own, not short for Annika
        doubled = len(short) > len(ending) + 1 and (
            short[-len(ending) - 1] == short[-len(ending) - 2] or
            short[-len(ending) - 2:-len(ending)] == "ck")
        if ending in ("an", "is", "isen", "sa") or doubled:
            if f.startswith(stem) and f != stem:
                return True
    return False


@cache
def _index() -> dict[str, tuple[str, str]]:
    """Folded name → (folded formal name, how it relates: 'formal' | 'variant' | 'nickname')."""
    out: dict[str, tuple[str, str]] = {}
    for g in GROUPS:
        formal = name_key(g.formal)
        for kind, names in (("formal", (g.formal,)), ("variant", g.variants),
                            ("nickname", g.nicknames)):
            for name in names:
                out.setdefault(name_key(name), (formal, kind))
    return out


def canonical(token: str) -> str:
    """The folded formal name a folded given-name token stands for ("kalle" → "karl"); other
    tokens come back unchanged."""
    hit = _index().get(token)
    return hit[0] if hit else token


def is_nickname(token: str) -> bool:
    """Whether a folded token is listed as a nickname ("kalle": yes; "karl", "carl": no)."""
    hit = _index().get(token)
    return bool(hit) and hit[1] == "nickname"


def formal_name(token: str) -> str | None:
    """The formal name as written in the table ("kalle" → "Karl"), or None."""
    hit = _index().get(token)
    if not hit:
        return None
    return next(g.formal for g in GROUPS if name_key(g.formal) == hit[0])


def relation(a: str, b: str) -> str | None:
    """How two different folded tokens relate through the table: 'nickname' (one is a nickname
    of the other's name), 'variant' (two spellings of the formal name), 'same-nickname' (two
    nicknames of one name), or None when the table does not connect them."""
    ia, ib = _index().get(a), _index().get(b)
    if a == b or not ia or not ib or ia[0] != ib[0]:
        return None
    kinds = {ia[1], ib[1]}
    if "nickname" in kinds:
        return "same-nickname" if kinds == {"nickname"} else "nickname"
    return "variant"
