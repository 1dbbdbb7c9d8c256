"""Value pools built once per seed with seeded Faker; rows then draw from them with numpy.

Each locale's pools come from one seeded Faker instance, so a street, its city and its postcode are
made together and stay consistent with the country. The pools depend on the Faker version, which the
project pins: a new Faker release may change names, never structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
from anyascii import anyascii
from faker import Faker

from crm_mock.generate.random import stream_key
from crm_mock.model.vocabularies import LOCALES_BY_COUNTRY

WEB_SUFFIX = {
    "US": ".com", "GB": ".co.uk", "DE": ".de", "FR": ".fr", "CA": ".ca", "JP": ".co.jp", "IN": ".in",
    "BR": ".com.br", "AU": ".com.au", "ES": ".es", "IT": ".it", "NL": ".nl", "MX": ".com.mx", "PL": ".pl",
    "SE": ".se",
}
RESERVED_DOMAIN_SUFFIX = ".example"
PEOPLE_PER_LOCALE = 400
ADDRESSES_PER_LOCALE = 400


def ascii_slug(text: str, separator: str = "") -> str:
    """A name spelled for an e-mail address: transliterated (ł → l, ß → ss, ø → o), lower case."""
    folded = anyascii(text).lower()
    return separator.join(part for part in re.split(r"[^a-z0-9]+", folded) if part)


# provider lists Faker builds from a set, so their order (and what a seeded draw picks) would change
# with PYTHONHASHSEED; found by comparing every provider list of our locales under two hash seeds
UNORDERED_PROVIDER_LISTS = {"it_IT": ("cities",)}


def _seeded_faker(seed: int, locale: str) -> Faker:
    fake = Faker(locale)
    for name in UNORDERED_PROVIDER_LISTS.get(locale, ()):
        for provider in fake.providers:
            if isinstance(getattr(type(provider), name, None), list):
                setattr(provider, name, sorted(getattr(provider, name)))
    fake.seed_instance(int(stream_key(seed, "faker", locale)[0] >> np.uint64(1)))
    return fake


def _street(fake: Faker, locale: str) -> str:
    if locale == "ja_JP":  # Faker's ja_JP street_address is not a Japanese address line
        return f"{fake.town()}{fake.chome()}{fake.ban()}{fake.gou()}"
    return fake.street_address().replace("\n", ", ")  # en_GB writes "Flat 8\nLynda Valley" on two lines


# the first digits of Australian postcodes by state (Australia Post)
AU_POSTCODE_PREFIX = {"NSW": "2", "ACT": "26", "VIC": "3", "QLD": "4", "SA": "5", "WA": "6", "TAS": "7", "NT": "08"}


def _region_and_postcode(fake: Faker, country: str) -> tuple[str | None, str]:
    """The address's state, province or prefecture (where the country's addresses carry one) and a postcode
    in the country's own format, consistent with the region where Faker knows how."""
    match country:
        case "US":
            state = fake.state_abbr(include_territories=False)
            return state, fake.postcode_in_state(state)
        case "CA":
            province = fake.province_abbr()
            code = fake.postalcode_in_province(province).replace(" ", "")
            return province, f"{code[:3]} {code[3:]}"  # "A1A 1A1"
        case "AU":
            state = fake.state_abbr()
            prefix = AU_POSTCODE_PREFIX[state]
            return state, prefix + fake.numerify("#" * (4 - len(prefix)))
        case "MX":
            return fake.state(), fake.postcode()[:5]  # a código postal has five digits, never ZIP+4
        case "ES":
            province = fake.state_name()
            return ("Ciudad Real" if province == "Ciudad" else province), fake.postcode()
        case "IN":
            return fake.state(), fake.postcode()
        case "BR":  # a CEP is "01310-100"
            code = fake.postcode().replace("-", "")
            return fake.estado_sigla(), f"{code[:5]}-{code[5:]}"
        case "JP":
            return fake.prefecture(), fake.postcode()
        case "IT":
            return fake.state_abbr(), fake.postcode()
        case "NL":  # "1234 AB"
            code = fake.postcode().replace(" ", "")
            return None, f"{code[:4]} {code[4:]}"
        case "SE":  # "123 45"
            code = fake.postcode().replace(" ", "")
            return None, f"{code[:3]} {code[3:]}"
    return None, fake.postcode()


@dataclass(frozen=True)
class LocalePools:
    country: str
    first_names: np.ndarray
    last_names: np.ndarray
    first_ascii: np.ndarray  # e-mail-safe spellings (romanised for Japanese names), distinct within the pool
    last_ascii: np.ndarray
    streets: np.ndarray
    cities: np.ndarray
    regions: np.ndarray  # None where the country's addresses carry no region
    postcodes: np.ndarray


def _array(values: list) -> np.ndarray:
    return np.array(values, dtype=object)


def _distinct_spellings(names: list[str], spellings: list[str]) -> tuple[list[str], list[str]]:
    """Names whose e-mail spelling no earlier name of the pool has: distinct name pairs, distinct addresses."""
    seen, kept_names, kept_spellings = set(), [], []
    for name, spelling in zip(names, spellings):
        if spelling and spelling not in seen:
            seen.add(spelling)
            kept_names.append(name)
            kept_spellings.append(spelling)
    return kept_names, kept_spellings


def _build_locale(seed: int, country: str) -> LocalePools:
    locale = LOCALES_BY_COUNTRY[country]
    fake = _seeded_faker(seed, locale)
    first, last, first_ascii, last_ascii = [], [], [], []
    romanised = locale == "ja_JP"
    for _ in range(PEOPLE_PER_LOCALE):
        if romanised:  # ja_JP pairs each kanji name with its romaji, which e-mail addresses use
            f_kanji, _, f_roman = fake.first_name_pair()
            l_kanji, _, l_roman = fake.last_name_pair()
            first.append(f_kanji)
            last.append(l_kanji)
            first_ascii.append(ascii_slug(f_roman))
            last_ascii.append(ascii_slug(l_roman))
        else:
            f, l = fake.first_name(), fake.last_name()
            first.append(f)
            last.append(l)
            first_ascii.append(ascii_slug(f))
            last_ascii.append(ascii_slug(l))
    first, first_ascii = _distinct_spellings(first, first_ascii)
    last, last_ascii = _distinct_spellings(last, last_ascii)
    streets, cities, regions, postcodes = [], [], [], []
    for _ in range(ADDRESSES_PER_LOCALE):
        streets.append(_street(fake, locale))
        cities.append(fake.city())
        region, postcode = _region_and_postcode(fake, country)
        regions.append(region)
        postcodes.append(postcode)
    return LocalePools(country, _array(first), _array(last), _array(first_ascii), _array(last_ascii),
                       _array(streets), _array(cities), _array(regions), _array(postcodes))


def web_domains(slugs: np.ndarray, countries: np.ndarray, contact_details: str) -> np.ndarray:
    """Company domains from their labels and country codes, as the scenario wants them: in reserved mode
    under the ``.example`` top-level domain (RFC 2606 keeps it out of the DNS, so no mail or web request
    can reach anyone), with the company and its country still readable (``mueller-logistik.de.example``)."""
    suffix = np.array([WEB_SUFFIX[c] for c in countries], dtype=object) if len(countries) else np.zeros(0, object)
    domains = np.asarray(slugs, dtype=object) + suffix
    return domains + RESERVED_DOMAIN_SUFFIX if contact_details == "reserved" else domains


@lru_cache(maxsize=4)
def locale_pools(seed: int) -> dict[str, LocalePools]:
    return {country: _build_locale(seed, country) for country in LOCALES_BY_COUNTRY}


# Hand-written pools: product naming and job titles read better curated than faked.
PRODUCT_WORDS = {
    "FINISHED_GOOD": (
        ("Compact", "Heavy-Duty", "Industrial", "Portable", "Smart", "Modular", "Premium", "Standard",
         "Ergonomic", "Wireless", "Outdoor", "Professional"),
        ("Steel", "Aluminium", "Oak", "Carbon", "Ceramic", "Polymer", "Glass", "Copper", "Titanium", "Bamboo"),
        ("Desk", "Drill", "Router", "Cabinet", "Pump", "Valve Kit", "Lamp", "Chair", "Controller", "Sensor",
         "Shelf Unit", "Generator", "Printer", "Monitor", "Workbench", "Toolkit"),
    ),
    "RAW_MATERIAL": (
        ("Grade A", "Grade B", "Recycled", "Refined", "Bulk", "Coated", "Annealed", "Food-Grade"),
        ("Steel", "Aluminium", "Copper", "Polyethylene", "Cotton", "Resin", "Silicon", "Hardwood", "Rubber"),
        ("Sheet", "Coil", "Pellets", "Rod", "Granulate", "Wire", "Billet", "Fibre", "Powder", "Panel"),
    ),
    "SERVICE": (
        ("Annual", "Quarterly", "On-Site", "Remote", "Premium", "Standard", "Express", "Extended"),
        ("Maintenance", "Installation", "Support", "Training", "Calibration", "Consulting", "Inspection"),
        ("Plan", "Package", "Visit", "Hours", "Contract", "Session"),
    ),
}
# titles by department and level: the department's head, its managers, everyone else
HEAD_TITLES = {
    "EXECUTIVE": ("Chief Operating Officer", "Chief Financial Officer", "Chief Technology Officer",
                  "Chief Revenue Officer", "Chief People Officer", "Chief Marketing Officer"),
    "SALES": ("VP of Sales",), "SUPPORT": ("Head of Customer Support",), "FINANCE": ("Finance Director",),
    "OPERATIONS": ("VP of Operations",), "HR": ("HR Director",), "ENGINEERING": ("VP of Engineering",),
    "MARKETING": ("Head of Marketing",),
}
MANAGER_TITLES = {
    "EXECUTIVE": ("Chief of Staff",), "SALES": ("Sales Manager", "Regional Sales Manager"),
    "SUPPORT": ("Support Team Lead", "Customer Success Manager"), "FINANCE": ("Finance Manager", "Credit Control Manager"),
    "OPERATIONS": ("Warehouse Manager", "Logistics Manager", "Purchasing Manager"), "HR": ("HR Manager",),
    "ENGINEERING": ("Engineering Manager", "QA Lead"), "MARKETING": ("Marketing Manager",),
}
STAFF_TITLES = {
    "EXECUTIVE": ("Executive Assistant",),
    "SALES": ("Account Executive", "Sales Representative", "Senior Account Manager", "Business Development Rep"),
    "SUPPORT": ("Support Engineer", "Technical Support Specialist", "Customer Support Agent"),
    "FINANCE": ("Accountant", "Credit Controller", "Financial Analyst", "Accounts Receivable Clerk"),
    "OPERATIONS": ("Warehouse Operative", "Logistics Coordinator", "Buyer", "Inventory Analyst"),
    "HR": ("HR Business Partner", "Recruiter", "Payroll Specialist"),
    "ENGINEERING": ("Software Engineer", "Data Engineer", "QA Engineer", "DevOps Engineer"),
    "MARKETING": ("Content Strategist", "Campaign Specialist", "Marketing Analyst"),
}
CONTACT_TITLES = (
    "Purchasing Manager", "Procurement Lead", "Chief Financial Officer", "Operations Director", "IT Manager",
    "Office Manager", "Head of Logistics", "Accounts Payable Clerk", "Owner", "Managing Director",
    "Facilities Manager", "Buyer", "Controller", "Plant Manager",
)


class CountryPools:
    """Every locale's pools of one field concatenated, so rows of many countries draw in one vector op."""

    def __init__(self, seed: int, countries: list[str] | tuple[str, ...]) -> None:
        self.countries = tuple(countries)
        self._seed = seed
        self._pools = [locale_pools(seed)[c] for c in self.countries]

    def index(self, field: str, country: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Positions in ``values(field)`` for rows of the given country indices, drawn by uniforms ``u``."""
        sizes = np.array([len(getattr(p, field)) for p in self._pools], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        return offsets[country] + np.floor(u * sizes[country]).astype(np.int64)

    def sizes(self, field: str) -> np.ndarray:
        """How many values each country's pool of ``field`` holds, in ``countries`` order."""
        return np.array([len(getattr(p, field)) for p in self._pools], dtype=np.int64)

    def values(self, field: str) -> np.ndarray:
        return np.concatenate([getattr(p, field) for p in self._pools])

    def take(self, field: str, positions: np.ndarray) -> pa.StringArray:
        """``values(field)[positions]`` as Arrow strings, gathered in C++: a block's names and addresses never
        become Python objects (converting an object array to Arrow was a quarter of a block's time)."""
        return _arrow_values(self._seed, self.countries, field).take(np.asarray(positions, dtype=np.int64))

    def pick(self, field: str, country: np.ndarray, u: np.ndarray) -> np.ndarray:
        return self.values(field)[self.index(field, country, u)]


@lru_cache(maxsize=64)
def _arrow_values(seed: int, countries: tuple[str, ...], field: str) -> pa.StringArray:
    return pa.array(CountryPools(seed, countries).values(field), pa.string())
