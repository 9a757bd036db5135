"""A seeded Swedish-style benchmark generator: an HR CSV, a Kleer CSV and the ground truth.

Independent of the demo generator (whose data the matcher was first tuned on), with the noise
that makes matching hard and that Swedish HR data has:

* namesakes: common first and last names drawn with Zipf-like frequencies (many Anna
  Andersson), some namesakes born on the same day; birth dates concentrated in 1960–2003, so at
  200,000 people a dozen share each birthday;
* married names (a new surname or a double surname on the Kleer side), nicknames (Kalle for
  Karl, from :mod:`workbench.nicknames`), typos in the first name, the last name or both;
* a personnummer missing on the Kleer side, written with 10 digits, or with one digit wrong;
* a changed email (another provider or a new address), a changed or missing phone, a move;
  every mailbox is one person's (the next Anna Andersson gets anna.andersson2@), as in a real
  company: two different people sharing first.last@ would be a contradiction, not noise;
* the hard combination: married + personnummer missing + email changed;
* people only in HR and people only in Kleer.

Kleer ids are whole numbers, HR ids ``H`` + six digits. ``truth.csv`` holds the true
``hr_id, kleer_id`` pairs, ``situations.csv`` the noise each Kleer record got.

    .venv/bin/python bench/gen_swedish.py 50000 /tmp/sw50k [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

from workbench import nicknames

FEMALE = ("Anna Eva Maria Karin Kristina Lena Sara Kerstin Emma Ingrid Marie Malin Jenny Hanna "
          "Linda Annika Susanne Elin Monica Birgitta Sofia Johanna Ulla Camilla Inger Katarina "
          "Elisabet Ida Julia Amanda Matilda Jessica Viktoria Madeleine Charlotte Helena Louise "
          "Frida Lisa Maja Alva Ebba Wilma Moa Ella Klara Agnes Tove Linnea Therese Petra "
          "Åsa Sofie Emelie Josefin Caroline Rebecka Isabelle Cecilia").split()
MALE = ("Lars Mikael Anders Johan Per Erik Karl Peter Jan Thomas Daniel Fredrik Hans Andreas "
        "Stefan Mats Mohamed Bengt Magnus Nils Bo Jonas Oskar Sven Leif Björn Gustav Martin "
        "Henrik Robert Joakim Alexander Sebastian Tobias Niklas Kristoffer Patrik William Olof "
        "Viktor Axel Emil Filip Isak Hugo Elias Anton Simon Jakob Rasmus Marcus Christian "
        "Göran Ulf Roger Kent Tommy Håkan Ola").split()
COMMON_LAST = ("Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson "
               "Gustafsson Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg "
               "Jakobsson Magnusson Olofsson Lindström Lindqvist Lindgren Berg Axelsson Bergström "
               "Lundberg Lind Lundgren Lundqvist Mattsson Berglund Fredriksson Sandberg Henriksson "
               "Forsberg Sjöberg Wallin Ali Engström Mohamed Eklund Danielsson Håkansson Lundin "
               "Björk Bergman Gunnarsson Holm Wikström Samuelsson Isaksson Fransson Bergqvist "
               "Nyström Holmberg Arvidsson Löfgren Söderberg Nyberg Blomqvist Claesson").split()
PARTS_A = ("Ek Berg Lind Sjö Ström Dahl Lund Holm Nord Sand Blom Sol Alm Ask Björk Gran Rosen "
           "Ljung Hag Mal Wall Öst Väst Fors Sten Åker Hed Kvist Bäck Löv Ahl Fager").split()
PARTS_B = ("gren qvist berg ström lund dahl blad man holm sten vall hed mark bäck by näs ling "
           "ros hammar feldt borg sjö").split()
STREETS = ("Storgatan Kungsgatan Drottninggatan Skolgatan Kyrkogatan Järnvägsgatan Parkvägen "
           "Björkvägen Ringvägen Trädgårdsgatan Industrivägen Sjövägen Ängsvägen Bergsgatan "
           "Östra Långgatan Västra Vägen Åsgatan Tallvägen Granvägen Ekvägen Lindvägen "
           "Hantverkargatan Repslagargatan Fabriksgatan Stationsvägen Nygatan").split()
CITIES = [("Stockholm", "11"), ("Göteborg", "41"), ("Malmö", "21"), ("Uppsala", "75"),
          ("Västerås", "72"), ("Örebro", "70"), ("Linköping", "58"), ("Helsingborg", "25"),
          ("Jönköping", "55"), ("Norrköping", "60"), ("Lund", "22"), ("Umeå", "90"),
          ("Gävle", "80"), ("Borås", "50"), ("Södertälje", "15"), ("Eskilstuna", "63"),
          ("Halmstad", "30"), ("Växjö", "35"), ("Karlstad", "65"), ("Sundsvall", "85")]
PROVIDERS = ("gmail.com", "hotmail.com", "outlook.com", "telia.com", "icloud.com", "yahoo.se")

# Share of people per situation (Kleer side relative to HR); several can combine.
RATES = {
    "hr_only": 0.07, "kleer_only": 0.07,
    "namesake": 0.04, "namesake_same_birthday": 0.01,
    "married": 0.08, "nickname": 0.07, "typo_first": 0.05, "typo_last": 0.05, "typo_both": 0.02,
    "ssn_missing": 0.15, "ssn_10_digits": 0.10, "ssn_typo": 0.01,
    "email_changed": 0.15, "phone_changed": 0.10, "phone_missing": 0.15, "moved": 0.10,
    "married_ssn_missing_email_changed": 0.02,
}


def _zipf_choice(rng: random.Random, items: list[str], s: float = 1.0) -> str:
    weights = [1.0 / (i + 1) ** s for i in range(len(items))]
    return rng.choices(items, weights)[0]


def _luhn(nine: str) -> str:
    total = 0
    for i, ch in enumerate(nine):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return str((10 - total % 10) % 10)


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 3:
        return s
    i = rng.randrange(1, len(s) - 1)
    kind = rng.random()
    if kind < 0.3:
        return s[:i] + s[i + 1:]                                      # deletion
    if kind < 0.6:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]                    # transposition
    if kind < 0.8:
        return s[:i] + rng.choice("aeiouylnrst") + s[i + 1:]          # substitution
    return s[:i] + s[i] + s[i:]                                       # doubled letter


class _Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rare = sorted({a + b for a in PARTS_A for b in PARTS_B})
        self.nick = {}
        for g in nicknames.GROUPS:
            if g.nicknames:
                self.nick[g.formal] = list(g.nicknames)

    def first(self, female: bool) -> str:
        return _zipf_choice(self.rng, FEMALE if female else MALE, 0.7)

    def last(self) -> str:
        if self.rng.random() < 0.55:
            return _zipf_choice(self.rng, COMMON_LAST, 0.8)
        return self.rng.choice(self.rare)


def _unique(address: str, used: set[str]) -> str:
    """``address``, or with a number added to its local part when someone has it already: a
    mailbox is one person's (the company gives the next Anna Andersson anna.andersson2@)."""
    local, _, domain = address.partition("@")
    k, candidate = 1, address
    while candidate in used:
        k += 1
        candidate = f"{local}{k}@{domain}"
    used.add(candidate)
    return candidate


def generate(n: int, seed: int = 1) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """``n`` people: (HR rows, Kleer rows, truth rows, situation rows)."""
    rng = random.Random(seed)
    names = _Names(rng)
    base = date(1960, 1, 1)
    span = (date(2003, 12, 31) - base).days
    used_pnr: set[str] = set()
    used_email: set[str] = set()
    people: list[dict] = []
    for i in range(n):
        female = rng.random() < 0.5
        if people and rng.random() < RATES["namesake"]:
            twin = rng.choice(people)
            first, last, female = twin["first"], twin["last"], twin["female"]
            born = twin["born"] if rng.random() < RATES["namesake_same_birthday"] / RATES["namesake"] \
                else base + timedelta(days=rng.randrange(span))
        else:
            first, last = names.first(female), names.last()
            if rng.random() < 0.12:  # a second given name
                first = f"{first} {names.first(female)}"
            born = base + timedelta(days=rng.randrange(span))
        while True:
            serial = f"{rng.randrange(1000):03d}"
            if (int(serial[2]) % 2 == 0) != female:
                serial = serial[:2] + str((int(serial[2]) + 1) % 10)
            nine = born.strftime("%y%m%d") + serial
            pnr = born.strftime("%Y%m%d") + "-" + serial + _luhn(nine)
            if pnr not in used_pnr:
                used_pnr.add(pnr)
                break
        city, zip_prefix = rng.choice(CITIES)
        slug = lambda s: (s.lower().replace(" ", ".").replace("å", "a").replace("ä", "a")  # noqa
                          .replace("ö", "o").replace("é", "e"))
        private = f"{slug(first.split()[0])}.{slug(last)}{rng.randrange(100)}@{rng.choice(PROVIDERS)}"
        work = f"{slug(first.split()[0])}.{slug(last)}{'' if rng.random() < 0.7 else rng.randrange(10)}"
        people.append({
            "i": i, "female": female, "first": first, "last": last, "born": born, "ssn": pnr,
            "private_email": _unique(private, used_email),
            "work_email": _unique(f"{work}@foretaget.se", used_email),
            "phone": f"+467{rng.choice('02369')}{rng.randrange(10**7):07d}",
            "street": f"{rng.choice(STREETS)} {rng.randrange(1, 120)}",
            "zip_code": f"{zip_prefix}{rng.randrange(1000):03d}", "city": city,
            "employee_number": str(100000 + i),
            "start": (date(2005, 1, 1) + timedelta(days=rng.randrange(7000))).isoformat(),
        })
    hr_rows, kleer_rows, truth, situations = [], [], [], []
    order = list(range(n))
    rng.shuffle(order)  # Kleer ids in another order than HR ids
    kleer_id_of = {p: 1000 + j for j, p in enumerate(order)}
    for p in people:
        r = rng.random()
        in_hr = r >= RATES["kleer_only"]
        in_kleer = r < 1 - RATES["hr_only"]
        hr_id = f"H{p['i']:06d}"
        if in_hr:
            hr_rows.append({"hr_id": hr_id, "first_name": p["first"], "last_name": p["last"],
                            "ssn": p["ssn"], "birth_date": p["born"].isoformat(),
                            "private_email": p["private_email"], "work_email": p["work_email"],
                            "phone": p["phone"], "street": p["street"], "zip_code": p["zip_code"],
                            "city": p["city"], "employee_number": p["employee_number"],
                            "employment_start_date": p["start"]})
        if not in_kleer:
            continue
        got: list[str] = []
        hit = lambda key: rng.random() < RATES[key] and not got.append(key)  # noqa: E731
        first, last = p["first"], p["last"]
        ssn, email, phone = p["ssn"], p["work_email"], p["phone"]
        street, zip_code, city = p["street"], p["zip_code"], p["city"]
        combo = hit("married_ssn_missing_email_changed")
        if combo or (p["female"] and hit("married")):
            new = names.last()
            last = f"{last}-{new}" if rng.random() < 0.3 else new
        if hit("nickname"):
            formal = first.split()[0]
            if formal in names.nick:
                first = rng.choice(names.nick[formal]) + first[len(formal):]
        if hit("typo_both"):
            first, last = _typo(rng, first), _typo(rng, last)
        else:
            if hit("typo_first"):
                first = _typo(rng, first)
            if hit("typo_last"):
                last = _typo(rng, last)
        if combo or hit("ssn_missing"):
            ssn = ""
        elif hit("ssn_10_digits"):
            ssn = ssn[2:]
        elif hit("ssn_typo"):
            j = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12])
            j = j if j != 8 else 9
            ssn = ssn[:j] + str((int(ssn[j]) + 1 + rng.randrange(8)) % 10) + ssn[j + 1:]
        if combo or hit("email_changed"):
            email = (f"{first.split()[0].lower()}{rng.randrange(1000)}@{rng.choice(PROVIDERS)}"
                     if rng.random() < 0.7 else p["private_email"].replace("@", "x@"))
        if hit("phone_missing"):
            phone = ""
        elif hit("phone_changed"):
            phone = f"+4670{rng.randrange(10**7):07d}"
        if hit("moved"):
            c, zp = rng.choice(CITIES)
            street, zip_code, city = (f"{rng.choice(STREETS)} {rng.randrange(1, 120)}",
                                      f"{zp}{rng.randrange(1000):03d}", c)
        kid = kleer_id_of[p["i"]]
        kleer_rows.append({"kleer_id": kid, "name": f"{first} {last}", "email": email,
                           "ssn": ssn, "phone": phone, "street": street, "zip_code": zip_code,
                           "city": city, "active": "true"})
        if in_hr:
            truth.append({"hr_id": hr_id, "kleer_id": kid})
        situations.append({"kleer_id": kid, "hr_id": hr_id if in_hr else "",
                           "situations": " ".join(got) or "clean"})
    kleer_rows.sort(key=lambda row: row["kleer_id"])
    return hr_rows, kleer_rows, truth, situations


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def write(n: int, folder: Path, seed: int = 1) -> dict[str, Path]:
    """Generate ``n`` people into ``folder``: hr.csv, kleer.csv, truth.csv, situations.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {k: folder / f"{k}.csv" for k in ("hr", "kleer", "truth", "situations")}
    for key, rows in zip(paths, generate(n, seed)):
        _write(paths[key], rows)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    paths = write(args.n, args.folder, args.seed)
    print(", ".join(str(p) for p in paths.values()))


if __name__ == "__main__":
    main()
