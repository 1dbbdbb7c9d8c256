"""Value pools built once per seed with seeded Faker; rows then draw from them with numpy.

Each locale's pools come from one seeded Faker instance, so a street, its city and its postcode are
made together and stay consistent with the country. The pools depend on the Faker version, which the
project pins: a new Faker release may change names, never structure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from faker import Faker

from crm_mock.generate.random import stream_key

LOCALES_BY_COUNTRY: dict[str, str] = {
    "US": "en_US", "GB": "en_GB", "DE": "de_DE", "FR": "fr_FR", "CA": "en_CA", "JP": "ja_JP",
    "IN": "en_IN", "BR": "pt_BR", "AU": "en_AU", "ES": "es_ES", "IT": "it_IT", "NL": "nl_NL",
    "MX": "es_MX", "PL": "pl_PL", "SE": "sv_SE",
}
WEB_SUFFIX = {
    "US": ".com", "GB": ".co.uk", "DE": ".de", "FR": ".fr", "CA": ".ca", "JP": ".co.jp", "IN": ".in",
    "BR": ".com.br", "AU": ".com.au", "ES": ".es", "IT": ".it", "NL": ".nl", "MX": ".com.mx", "PL": ".pl",
    "SE": ".se",
}
RESERVED_DOMAIN_SUFFIX = ".example"
PEOPLE_PER_LOCALE = 400
ADDRESSES_PER_LOCALE = 400
COMPANIES_PER_LOCALE = 300


def ascii_slug(text: str, separator: str = "") -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", separator, folded).strip(separator)


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
    return fake.street_address()


@dataclass(frozen=True)
class LocalePools:
    country: str
    first_names: np.ndarray
    last_names: np.ndarray
    first_ascii: np.ndarray  # e-mail-safe spellings (romanised for Japanese names)
    last_ascii: np.ndarray
    streets: np.ndarray
    cities: np.ndarray
    postcodes: np.ndarray
    companies: np.ndarray
    domains: np.ndarray


def _array(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=object)


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
            first_ascii.append(ascii_slug(f) or "x")
            last_ascii.append(ascii_slug(l) or "x")
    streets, cities, postcodes = [], [], []
    for _ in range(ADDRESSES_PER_LOCALE):
        streets.append(_street(fake, locale))
        cities.append(fake.city())
        postcodes.append(fake.postcode())
    companies, domains = [], []
    for _ in range(COMPANIES_PER_LOCALE):
        name = fake.company()
        slug = ascii_slug(name, "-") or f"{ascii_slug(fake.last_romanized_name() if romanised else fake.last_name())}-kk"
        companies.append(name)
        domains.append(slug[:60].strip("-") + WEB_SUFFIX[country])
    return LocalePools(country, _array(first), _array(last), _array(first_ascii), _array(last_ascii),
                       _array(streets), _array(cities), _array(postcodes),
                       _array(companies), _array(domains))


def web_domains(domains: np.ndarray, contact_details: str) -> np.ndarray:
    """Company domains as the scenario wants them: in reserved mode under the ``.example`` top-level
    domain (RFC 2606 keeps it out of the DNS, so no mail or web request can reach anyone), with the
    company and its country still readable (``sontag.de.example``)."""
    return np.asarray(domains, dtype=object) + RESERVED_DOMAIN_SUFFIX if contact_details == "reserved" else domains


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
JOB_TITLES = {
    "EXECUTIVE": ("Chief Operating Officer", "Chief Financial Officer", "VP of Sales", "VP of Operations"),
    "SALES": ("Account Executive", "Sales Representative", "Senior Account Manager", "Sales Manager",
              "Business Development Rep"),
    "SUPPORT": ("Support Engineer", "Customer Success Manager", "Support Team Lead", "Technical Support Specialist"),
    "FINANCE": ("Accountant", "Credit Controller", "Financial Analyst", "Finance Manager"),
    "OPERATIONS": ("Warehouse Supervisor", "Logistics Coordinator", "Purchasing Manager", "Inventory Analyst"),
    "HR": ("HR Business Partner", "Recruiter", "Payroll Specialist"),
    "ENGINEERING": ("Software Engineer", "Data Engineer", "Engineering Manager", "QA Engineer"),
    "MARKETING": ("Marketing Manager", "Content Strategist", "Campaign Specialist"),
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
        self._pools = [locale_pools(seed)[c] for c in self.countries]

    def index(self, field: str, country: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Positions in ``values(field)`` for rows of the given country indices, drawn by uniforms ``u``."""
        sizes = np.array([len(getattr(p, field)) for p in self._pools], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        return offsets[country] + np.floor(u * sizes[country]).astype(np.int64)

    def values(self, field: str) -> np.ndarray:
        return np.concatenate([getattr(p, field) for p in self._pools])

    def pick(self, field: str, country: np.ndarray, u: np.ndarray) -> np.ndarray:
        return self.values(field)[self.index(field, country, u)]
