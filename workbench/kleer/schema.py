"""What is known of Kleer's API, in one table, each fact with its source; and the dialects.

``FACTS`` is the one table of schema facts the simulator enforces and the client relies on.
Every entry names its source, one of:

- ``XSD``: Kleer's own schema, the 2025 copy in github.com/DeviesDevelopment/Kleer,
  file ``Kleer/doc.xsd`` (as served at https://api.kleer.se/v1/xsd); the element or type named.
- ``TOKI``: live-API notes of github.com/ponbac/toki2, ``.docs/kleer.md`` and
  ``kleer/src/client.rs`` (validated against the live API in 2026).
- ``ORNEHOLM``: github.com/PeterOrneholm/Orneholm.PEAccounting, a client of the same API (XML):
  ``PeaApi.cs`` reads a PUT's answer as the ``created`` element (``Models/ItemCreated.cs``).
- ``ASSUMED``: not confirmed by any source; the probe (:mod:`workbench.kleer.probe`) checks it.

Where the real behaviour is undocumented, :class:`Dialect` names each plausible variant; the
simulator speaks the one it is given and the client accepts all of them.
``tests/test_kleer_dialects.py::test_the_schema_facts_are_pinned`` pins this table.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

__all__ = ["Fact", "FACTS", "fact", "Dialect", "DIALECTS", "DEFAULT_DIALECT", "ISO_COUNTRIES",
           "valid_ssn", "valid_email", "valid_country", "TECHNICAL_ERROR", "MAX_ID",
           "MAX_BODY_BYTES", "MAX_JSON_DEPTH"]

TECHNICAL_ERROR = "Tekniskt fel"


@dataclass(frozen=True)
class Fact:
    """One thing known of Kleer: ``value`` and where it comes from (``source``)."""

    value: Any
    source: str


# ISO 3166-1 alpha-2, the officially assigned codes (249).
ISO_COUNTRIES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())

#: The fact table. Keys are stable names; tests and code read them through :func:`fact`.
FACTS: dict[str, Fact] = {
    # -- user (XSD complexType "user": id, name, email, active have no minOccurs="0")
    "user.required": Fact(("id", "name", "email", "active"), "XSD complexType user"),
    "user.required_on_create": Fact(("name", "email", "active"),
                                    "XSD complexType user, minus id: a create has none yet "
                                    "(KLEER_API.md: PUT /user without id)"),
    "user.optional": Fact(("foreign-id", "internal-id", "dimension-entry", "dimensions",
                           "dimension-user-percentage"), "XSD complexType user (minOccurs=0)"),
    "user.types": Fact({"id": "int", "foreign-id": "text", "internal-id": "int", "name": "text",
                        "email": "text", "active": "bool"}, "XSD complexType user (xs:int, "
                       "xs:string, xs:boolean)"),
    "user.partial_update": Fact(False, "XSD: partial writes are documented only for "
                                "payroll-user-writable; a user write is a whole user"),
    # -- payroll contract
    "contract.nulls_ignored": Fact(True, "XSD payroll-user-writable: 'Only non-null fields will "
                                   "be updated/set'"),
    "contract.required_on_create": Fact(("ssn", "employment-start-date"),
                                        "XSD payroll-user-writable: 'When creating a new "
                                        "payroll-user, the following fields are required'"),
    "contract.end_date_wrapper": Fact("employment-end-date", "XSD payroll-user-writable: "
                                      "'Wrapped element in order to be able to distinguish "
                                      "between the cases remove existing value and leave "
                                      "existing value unmodified'"),
    "contract.list_replaces": Fact(("schedules", "dimension-entries"),
                                   "XSD payroll-user-writable: 'Overwrites existing schedules, "
                                   "Ie 0 occurs clears all schedules'; 'Skip to leave ... as is'"),
    "contract.types": Fact({
        "ssn": "text", "address1": "text", "address2": "text", "zip-code": "text",
        "state": "text", "country-code": "text", "phone": "text", "clearing-nr": "text",
        "account-nr": "text", "notes": "text", "tax-table": "int", "tax-table-column": "int",
        "tax-percentage": "number", "one-time-tax-percentage": "number",
        "travel-reimbursement-per-mile": "int", "expense-allowance": "bool",
        "fuel-benefit": "bool", "monthly-salary": "int", "monthly-salary-yearly-pension": "int",
        "hourly-salary": "int", "provision": "bool", "employment-start-date": "date",
        "monthly-salary-start-date": "date", "hourly-salary-start-date": "date",
        "manager-user": "ref"}, "XSD complexType payroll-user-writable (xs:string, xs:int, "
        "xs:long, xs:decimal, xs:boolean, xs:date, user-reference)"),
    # Every readable element without minOccurs="0" is always present: an empty one is "" / 0 /
    # false. Enumerations (monthly-salary-type, ...) and references (manager-user) are not
    # filled: what Kleer sends for an empty one is unknown.
    "contract.readable_defaults": Fact({
        "ssn": "", "address1": "", "address2": "", "zip-code": "", "state": "",
        "country-code": "", "phone": "", "tax-table": 0, "tax-table-column": 0,
        "tax-percentage": 0, "one-time-tax-percentage": 0, "clearing-nr": "", "account-nr": "",
        "employment-start-date": "", "travel-reimbursement-per-mile": 0,
        "expense-allowance": False, "fuel-benefit": False, "monthly-salary": 0,
        "monthly-salary-yearly-pension": 0, "hourly-salary": 0, "provision": False,
        "workplace-number": "", "variable-salary-description": ""},
        "XSD complexType payroll-user-readable (elements without minOccurs=0)"),
    "contract.readable_optional": Fact(("employment-end-date", "notes",
                                        "monthly-salary-start-date", "hourly-salary-start-date",
                                        "vacationFixedDebtPercentage"),
                                       "XSD complexType payroll-user-readable (minOccurs=0)"),
    "contract.country_code": Fact("ISO 3166-1 alpha-2", "XSD payroll-user-readable/-writable: "
                                  "'<!-- ISO 3166-1 alpha-2 code -->' on country-code"),
    "contract.ssn": Fact("personnummer: 10 or 12 digits, Luhn over the last ten",
                         "ASSUMED (the XSD says xs:string; Kleer's UI validates it)"),
    "contract.monthly_salary_unit": Fact("unknown", "XSD: monthly-salary is xs:long without a "
                                         "unit, while other amounts are documented 'in cent'"),
    "contract.monthly_salary_start_default": Fact("start of the current month",
                                                  "XSD payroll-user-writable "
                                                  "monthly-salary-start-date: 'If omitted, "
                                                  "default start date is start of current month'"),
    "user.email_syntax": Fact("local@domain", "ASSUMED (the XSD says xs:string)"),
    # -- answers
    "answer.created": Fact("created{id: xs:int}", "XSD element created; ORNEHOLM PeaApi.cs "
                           "reads PUT answers as created"),
    "answer.saved": Fact("saved{id?: xs:int}", "XSD element saved (id minOccurs=0); TOKI "
                         "client.rs reads event writes as {id}"),
    "answer.error": Fact("error{message}", "XSD element error"),
    "answer.validation": Fact((500, TECHNICAL_ERROR), "TOKI .docs/kleer.md: PUT /event without "
                              "foreign-id 'can return a generic Tekniskt fel 500'"),
    "answer.json_by": Fact("content-type", "TOKI .docs/kleer.md: 'Kleer has returned XML from "
                           "JSON endpoints when only Accept was sent'; client.rs: 'Kleer uses "
                           "Content-Type to select JSON responses even for some GET endpoints'"),
    "answer.default_format": Fact("xml", "XSD (the API's schema is XML); TOKI .docs/kleer.md"),
    "answer.no_contract": Fact(404, "ASSUMED (real code unknown; a dialect may differ)"),
    "ids": Fact("xs:int", "XSD: user id, created/id are xs:int"),
}


def fact(name: str) -> Any:
    """The value of the schema fact ``name`` (KeyError for an unknown name: a typo)."""
    return FACTS[name].value


#: Ids are ASCII digits within SQLite's INTEGER range (the XSD's xs:int is narrower still;
#: a larger id cannot exist and is answered 404, never a crash).
MAX_ID = 2**63 - 1
#: The simulator refuses bodies above this (413); Kleer's limit is unknown (ASSUMED).
MAX_BODY_BYTES = 1_000_000
#: JSON nested deeper than this is refused (400) by the simulator and the client.
MAX_JSON_DEPTH = 32

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_ssn(value: Any) -> bool:
    """A checksum-valid personnummer/samordningsnummer (``contract.ssn``)."""
    from ..normalize import personnummer

    return isinstance(value, str) and personnummer(value).ok and bool(value.strip())


def valid_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value)) and len(value) <= 254


def valid_country(value: Any) -> bool:
    return isinstance(value, str) and value in ISO_COUNTRIES


# --------------------------------------------------------------------------- dialects

_CHOICES = {
    "created": ("id", "created", "xml"),         # {"id":n} | {"created":{"id":n}} | <created>
    "updated": ("id", "empty", "saved", "ok"),  # {"id":n} | "" | {"saved":{"id":n}} | {"ok":true}
    "user_update": ("merge", "full"),            # partial POST /user/{id} merged or refused
    "negotiate": ("accept", "content-type"),     # what picks JSON over XML
}


@dataclass(frozen=True)
class Dialect:
    """How one (simulated) Kleer answers where the real behaviour is undocumented, plus
    ``strict``: enforce the XSD (required fields, nulls ignored, readable fields filled,
    ssn/country/email validated; a violation is ``500 Tekniskt fel``).

    JSON-able (:meth:`as_dict` / :meth:`parse`) so the probe can hand it to the client.
    """

    name: str = "lenient"
    strict: bool = False
    created: str = "id"
    updated: str = "id"
    no_contract_status: int = 404
    user_update: str = "merge"
    negotiate: str = "accept"

    def __post_init__(self) -> None:
        for key, allowed in _CHOICES.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"dialect {key} is one of {', '.join(allowed)}, "
                                 f"not {getattr(self, key)!r}")
        if not isinstance(self.no_contract_status, int) or \
                not 400 <= self.no_contract_status <= 599:
            raise ValueError("dialect no_contract_status must be an HTTP error status")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, value: "Dialect | str | Mapping[str, Any] | None") -> "Dialect":
        """A dialect from its preset name, a dict (``{"name": preset, **overrides}`` or every
        field), or a Dialect; None is :data:`DEFAULT_DIALECT`."""
        if value is None:
            value = DEFAULT_DIALECT
        if isinstance(value, Dialect):
            return value
        if isinstance(value, str):
            if value not in DIALECTS:
                raise ValueError(f"unknown dialect {value!r}; known: {', '.join(DIALECTS)}")
            return DIALECTS[value]
        if not isinstance(value, Mapping):
            raise ValueError("a dialect is a name or an object")
        known = {f.name for f in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown dialect settings: {', '.join(sorted(unknown))}")
        base = DIALECTS.get(str(value.get("name", "")), Dialect())
        return replace(base, **dict(value))


#: The named dialects. ``lenient`` is the simulator as it was before the XSD was enforced.
DIALECTS: dict[str, Dialect] = {
    "lenient": Dialect(),
    "strict": Dialect("strict", True, "created", "empty", 404, "full", "content-type"),
    "strict-id": Dialect("strict-id", True, "id", "saved", 404, "full", "content-type"),
    "strict-xml": Dialect("strict-xml", True, "xml", "ok", 400, "full", "content-type"),
    "strict-500": Dialect("strict-500", True, "created", "saved", 500, "full", "content-type"),
}

#: The simulator's dialect unless told otherwise: strict, now that the sync's writes comply
#: with the XSD (whole users on update, ``active`` on create, explicit empty values instead of
#: nulls). The sync tests run against every dialect (``tests/conftest.py``, ``every_dialect``).
DEFAULT_DIALECT = "strict"
