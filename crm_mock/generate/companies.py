"""Company names the way each country writes them, with the trade where the name says it, and made
distinct the way company registries make them distinct.

A name is composed from a country's patterns ("{L} {I} {F}": surname, industry word, legal form) over
Faker-built surname and city pools, so the space of names grows with the pools' product rather than with
a list of whole names. The industry word is the account's industry, so "Müller Logistik GmbH" is in
LOGISTICS. The web domain is the name without its legal form (no "-gmbh-co-kg"). When two accounts would
share a domain, the later one takes a distinguishing word before its legal form ("Müller Logistik Holding
GmbH", "Carroll Freight Trading Inc."), as registries require, and a number after the words run out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from anyascii import anyascii

from crm_mock.generate.frame import occurrence_rank
from crm_mock.generate.pools import CountryPools
from crm_mock.model import vocabularies as v

LANGUAGE = {"US": "en", "GB": "en", "CA": "en", "AU": "en", "IN": "en", "DE": "de", "FR": "fr", "ES": "es", "MX": "es",
            "BR": "pt", "IT": "it", "NL": "nl", "PL": "pl", "SE": "sv", "JP": "ja"}
LEGAL_FORMS = {
    "US": ("Inc.", "LLC", "Corp.", "Co."), "GB": ("Ltd", "Limited", "PLC", "LLP"), "CA": ("Inc.", "Ltd.", "Corp."),
    "AU": ("Pty Ltd", "Pty Ltd", "Ltd"), "IN": ("Pvt. Ltd.", "Private Limited", "Ltd.", "LLP"),
    "DE": ("GmbH", "GmbH", "AG", "GmbH & Co. KG", "KG", "e.K."), "FR": ("SARL", "SAS", "SA"),
    "ES": ("S.L.", "S.A.", "S.L.U."), "MX": ("S.A. de C.V.", "S. de R.L. de C.V.", "S.C."),
    "BR": ("Ltda.", "S.A.", "ME", "EIRELI"), "IT": ("S.r.l.", "S.p.A.", "S.n.c.", "S.a.s."),
    "NL": ("B.V.", "B.V.", "N.V.", "V.O.F."), "PL": ("sp. z o.o.", "S.A.", "sp.j.", "sp.k."),
    "SE": ("AB", "AB", "HB"), "JP": ("株式会社", "有限会社", "合同会社"),
}
# (pattern, weight): {L} and {M} surnames, {I} the industry word, {F} the legal form
PATTERNS = {
    "en": (("{L} {I} {F}", 4), ("{L} & {M} {F}", 2), ("{L}-{M} {F}", 1), ("{L} {I}", 2)),
    "de": (("{L} {I} {F}", 4), ("{L} & {M} {F}", 2), ("{I} {L} {F}", 1), ("{L} {F}", 1)),
    "fr": (("{I} {L} {F}", 4), ("{L} & {M} {F}", 2), ("{L} {I} {F}", 1), ("{L} et Fils {F}", 1)),
    "es": (("{I} {L} {F}", 4), ("{L} y {M} {F}", 2), ("{I} {L} y {M} {F}", 1)),
    "pt": (("{L} {I} {F}", 3), ("{I} {L} {F}", 2), ("{L} & {M} {F}", 2)),
    "it": (("{L} {I} {F}", 3), ("{I} {L} {F}", 2), ("{L} & {M} {F}", 2), ("F.lli {L} {F}", 1)),
    "nl": (("{L} {I} {F}", 4), ("{L} & {M} {F}", 2), ("{I} {L} {F}", 1)),
    "pl": (("{I} {L} {F}", 4), ("{L} i {M} {F}", 2), ("{L}-{M} {F}", 1)),
    "sv": (("{L} {I} {F}", 4), ("{L} & {M} {F}", 2), ("{L}s {I} {F}", 1)),
    "ja": (("{F}{L}{I}", 3), ("{L}{I}{F}", 3)),
}
# public bodies are named after their town, without a legal form
PUBLIC_PATTERNS = {
    "US": ("City of {C}", "{C} County", "{C} Water District"), "GB": ("{C} City Council", "{C} Borough Council"),
    "CA": ("City of {C}", "Municipality of {C}"), "AU": ("{C} City Council", "{C} Shire Council"),
    "IN": ("{C} Municipal Corporation", "{C} Development Authority"), "DE": ("Stadtverwaltung {C}", "Stadtwerke {C}"),
    "FR": ("Mairie de {C}", "Communauté de communes de {C}"), "ES": ("Ayuntamiento de {C}", "Diputación de {C}"),
    "MX": ("Municipio de {C}", "Gobierno Municipal de {C}"), "BR": ("Prefeitura de {C}", "Câmara Municipal de {C}"),
    "IT": ("Comune di {C}", "Provincia di {C}"), "NL": ("Gemeente {C}", "Waterschap {C}"),
    "PL": ("Urząd Miasta {C}", "Gmina {C}"), "SE": ("{C} kommun", "Region {C}"),
}
# the trade in each language, in v.INDUSTRY order (PUBLIC_SECTOR last: only Japan names it in a company)
INDUSTRY_WORDS = {
    "en": (("Manufacturing", "Industries", "Fabrication"), ("Retail", "Stores", "Supply"),
           ("Healthcare", "Medical", "Health"), ("Financial", "Capital", "Insurance"),
           ("Technologies", "Software", "Systems"), ("Logistics", "Freight", "Transport"),
           ("Construction", "Builders", "Contracting"), ("Energy", "Power", "Solar"),
           ("Learning", "Academy", "Education"), ("Hospitality", "Hotels", "Catering"),
           ("Farms", "Agriculture", "Growers"), ("Public Services",)),
    "de": (("Maschinenbau", "Metallbau", "Fertigung"), ("Handel", "Warenhaus", "Einzelhandel"),
           ("Medizintechnik", "Pflegedienst", "Gesundheit"), ("Finanz", "Versicherung", "Vermögensberatung"),
           ("Software", "Systemhaus", "Informatik"), ("Logistik", "Spedition", "Transport"),
           ("Bau", "Bauunternehmung", "Hochbau"), ("Energie", "Solar", "Energietechnik"),
           ("Bildung", "Akademie", "Schulungszentrum"), ("Hotel", "Gastronomie", "Catering"),
           ("Agrar", "Landhandel", "Hofgut"), ("Kommunalservice",)),
    "fr": (("Industrie", "Fabrication", "Usinage"), ("Distribution", "Commerce", "Magasins"),
           ("Santé", "Médical", "Pharma"), ("Finance", "Assurances", "Patrimoine"),
           ("Informatique", "Logiciels", "Systèmes"), ("Logistique", "Transports", "Fret"),
           ("Bâtiment", "Construction", "Travaux"), ("Énergie", "Solaire", "Électricité"),
           ("Formation", "Académie", "Enseignement"), ("Hôtellerie", "Restauration", "Traiteur"),
           ("Agricole", "Fermes", "Agro"), ("Services Publics",)),
    "es": (("Industrias", "Fabricación", "Manufacturas"), ("Comercial", "Distribuciones", "Almacenes"),
           ("Salud", "Clínica", "Farma"), ("Finanzas", "Seguros", "Inversiones"),
           ("Tecnología", "Software", "Sistemas"), ("Logística", "Transportes", "Mensajería"),
           ("Construcciones", "Obras", "Edificaciones"), ("Energía", "Solar", "Eléctrica"),
           ("Formación", "Academia", "Educación"), ("Hoteles", "Restauración", "Catering"),
           ("Agrícola", "Granjas", "Agropecuaria"), ("Servicios Públicos",)),
    "pt": (("Indústria", "Metalúrgica", "Fábrica"), ("Comércio", "Distribuidora", "Lojas"),
           ("Saúde", "Clínica", "Farma"), ("Finanças", "Seguros", "Investimentos"),
           ("Tecnologia", "Software", "Sistemas"), ("Logística", "Transportes", "Cargas"),
           ("Construtora", "Engenharia", "Obras"), ("Energia", "Solar", "Elétrica"),
           ("Educação", "Academia", "Ensino"), ("Hotelaria", "Restaurantes", "Buffet"),
           ("Agropecuária", "Agrícola", "Fazendas"), ("Serviços Públicos",)),
    "it": (("Industrie", "Meccanica", "Manifatture"), ("Commerciale", "Distribuzione", "Magazzini"),
           ("Sanità", "Medicale", "Farmaceutica"), ("Finanziaria", "Assicurazioni", "Investimenti"),
           ("Informatica", "Software", "Sistemi"), ("Logistica", "Trasporti", "Spedizioni"),
           ("Costruzioni", "Edilizia", "Impianti"), ("Energia", "Solare", "Elettrica"),
           ("Formazione", "Accademia", "Istruzione"), ("Hotel", "Ristorazione", "Catering"),
           ("Agricola", "Agraria", "Agroalimentare"), ("Servizi Pubblici",)),
    "nl": (("Industrie", "Metaalbewerking", "Productie"), ("Handel", "Winkels", "Groothandel"),
           ("Zorg", "Medisch", "Gezondheid"), ("Financiële Diensten", "Verzekeringen", "Beleggingen"),
           ("Software", "ICT", "Systemen"), ("Logistiek", "Transport", "Expeditie"),
           ("Bouw", "Aannemersbedrijf", "Bouwbedrijf"), ("Energie", "Zonne-energie", "Installatietechniek"),
           ("Opleidingen", "Academie", "Onderwijs"), ("Hotels", "Horeca", "Catering"),
           ("Agrarisch", "Kwekerij", "Landbouw"), ("Publieke Diensten",)),
    "pl": (("Przemysł", "Produkcja", "Zakłady"), ("Handel", "Hurtownia", "Sklepy"),
           ("Medycyna", "Zdrowie", "Farmacja"), ("Finanse", "Ubezpieczenia", "Inwestycje"),
           ("Informatyka", "Software", "Systemy"), ("Logistyka", "Transport", "Spedycja"),
           ("Budownictwo", "Budowa", "Instalacje"), ("Energia", "Fotowoltaika", "Energetyka"),
           ("Edukacja", "Akademia", "Szkolenia"), ("Hotele", "Gastronomia", "Catering"),
           ("Rolnictwo", "Gospodarstwo", "Agro"), ("Usługi Komunalne",)),
    "sv": (("Industri", "Tillverkning", "Mekaniska"), ("Handel", "Butiker", "Grossist"),
           ("Vård", "Medicin", "Hälsa"), ("Finans", "Försäkring", "Kapital"),
           ("IT", "Mjukvara", "System"), ("Logistik", "Transport", "Åkeri"),
           ("Bygg", "Entreprenad", "Byggnads"), ("Energi", "Sol", "Kraft"),
           ("Utbildning", "Akademi", "Skola"), ("Hotell", "Restaurang", "Catering"),
           ("Lantbruk", "Gård", "Agro"), ("Kommunal Service",)),
    "ja": (("工業", "製作所", "製造"), ("商店", "販売", "百貨店"), ("医療", "薬品", "メディカル"),
           ("保険", "証券", "ファイナンス"), ("システム", "情報", "ソフトウェア"), ("運輸", "物流", "通運"),
           ("建設", "工務店", "建築"), ("電力", "ガス", "エネルギー"), ("教育", "学習", "スクール"),
           ("ホテル", "観光", "旅館"), ("農林", "水産", "農産"), ("公共サービス", "水道")),
}
# how Japanese names read in a domain (the kanji have no ASCII spelling of their own)
ROMAJI = {
    "工業": "kogyo", "製作所": "seisakusho", "製造": "seizo", "商店": "shoten", "販売": "hanbai",
    "百貨店": "hyakkaten", "医療": "iryo", "薬品": "yakuhin", "メディカル": "medical", "保険": "hoken",
    "証券": "shoken", "ファイナンス": "finance", "システム": "system", "情報": "joho", "ソフトウェア": "software",
    "運輸": "unyu", "物流": "butsuryu", "通運": "tsuun", "建設": "kensetsu", "工務店": "komuten",
    "建築": "kenchiku", "電力": "denryoku", "ガス": "gas", "エネルギー": "energy", "教育": "kyoiku",
    "学習": "gakushu", "スクール": "school", "ホテル": "hotel", "観光": "kanko", "旅館": "ryokan",
    "農林": "norin", "水産": "suisan", "農産": "nosan", "公共サービス": "kokyo-service", "水道": "suido",
    "ホールディングス": "holdings", "商事": "shoji", "東日本": "higashinihon", "西日本": "nishinihon",
    "サービス": "service", "総合": "sogo",
}
# the words registries see added to tell two firms apart
DISTINGUISHING = {
    "en": ("Holdings", "Group", "International", "Trading", "Partners", "Enterprises", "Services", "Ventures"),
    "de": ("Holding", "Beteiligungs", "Verwaltungs", "Service", "Handels", "International"),
    "fr": ("Holding", "Groupe", "International", "Services", "Développement", "Participations"),
    "es": ("Holding", "Grupo", "Internacional", "Servicios", "Inversiones", "Desarrollos"),
    "pt": ("Holding", "Grupo", "Internacional", "Serviços", "Participações", "Empreendimentos"),
    "it": ("Holding", "Group", "International", "Servizi", "Partecipazioni", "Sviluppo"),
    "nl": ("Holding", "Groep", "International", "Beheer", "Diensten", "Participaties"),
    "pl": ("Holding", "Grupa", "International", "Serwis", "Inwestycje", "Rozwój"),
    "sv": ("Holding", "Förvaltning", "International", "Invest", "Service", "Partner"),
    "ja": ("ホールディングス", "商事", "東日本", "西日本", "サービス", "総合"),
}
INDUSTRY = {name: i for i, name in enumerate(v.INDUSTRY)}
PUBLIC = INDUSTRY["PUBLIC_SECTOR"]
MAX_SLUG = 60


def slug(text: str) -> str:
    """A domain label from any script: transliterated, lower case, words joined by hyphens."""
    folded = anyascii(text).lower()
    out = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in folded)
    return "-".join(part for part in out.split("-") if part)[:MAX_SLUG].strip("-")


@dataclass(frozen=True)
class Companies:
    name: np.ndarray  # object: the registered name
    domain_slug: np.ndarray  # object: the name without its legal form, as a domain label


def _pick(values: tuple, u: np.ndarray) -> np.ndarray:
    return np.array(values, dtype=object)[np.floor(u * len(values)).astype(np.int64)]


def compose(pools: CountryPools, country: np.ndarray, industry: np.ndarray, city: np.ndarray,
            u: np.ndarray) -> Companies:
    """Names for rows of country indices ``country`` (into pools.countries) and industry indices, with the
    row's city (for public bodies) and a (n, 5) array of uniforms."""
    n = len(country)
    surnames = pools.values("last_names")
    romaji = pools.values("last_ascii")
    first = pools.index("last_names", country, u[:, 0])
    second = pools.index("last_names", country, u[:, 1])
    name = np.empty(n, dtype=object)
    core = np.empty(n, dtype=object)  # what the domain is made of
    for c, code in enumerate(pools.countries):
        rows = np.flatnonzero(country == c)
        if not len(rows):
            continue
        language = LANGUAGE[code]
        public = industry[rows] == PUBLIC
        if language != "ja" and public.any():
            at = rows[public]
            pattern = _pick(PUBLIC_PATTERNS[code], u[at, 2])
            text = np.array([p.format(C=town) for p, town in zip(pattern, city[at])], dtype=object)
            name[at], core[at] = text, text
            rows = rows[~public]
        patterns = PATTERNS[language]
        weights = np.cumsum([w for _, w in patterns]) / sum(w for _, w in patterns)
        chosen = np.minimum(np.searchsorted(weights, u[rows, 2], side="right"), len(patterns) - 1)
        legal = _pick(LEGAL_FORMS[code], u[rows, 3])
        words = INDUSTRY_WORDS[language]
        word = np.array([ws[int(k * len(ws))] for ws, k in
                         zip((words[i] for i in industry[rows]), u[rows, 4])], dtype=object)
        for row, p, w, f in zip(rows, chosen, word, legal):
            pattern = patterns[p][0]
            last, other = surnames[first[row]], surnames[second[row]]
            name[row] = pattern.format(L=last, M=other, I=w, F=f)
            bare = pattern.replace("{F}", "").strip()
            if language == "ja":  # the domain reads the romanised surname and trade
                core[row] = f"{romaji[first[row]]} {ROMAJI[w]}" if "{I}" in pattern else romaji[first[row]]
            else:
                core[row] = bare.format(L=last, M=other, I=w)
    return Companies(name, np.array([slug(text) for text in core], dtype=object))


def _with_word(name: str, legal_forms: tuple[str, ...], word: str, language: str) -> str:
    """``word`` added before the legal form (after it in Japanese names that lead with theirs)."""
    for form in sorted(legal_forms, key=len, reverse=True):
        if language == "ja" and name.startswith(form):
            return name + word
        if name.endswith(form):
            head = name[: -len(form)]
            return f"{head}{word}{form}" if language == "ja" else f"{head.rstrip()} {word} {form}"
    return f"{name}{word}" if language == "ja" else f"{name} {word}"


def distinct(companies: Companies, countries: tuple[str, ...], country: np.ndarray,
             reserved: tuple[str, ...] = ()) -> Companies:
    """Every domain (and so every name) distinct: a repeat takes its country's distinguishing words in
    turn, then a number, the way a registry makes a second "Carroll Freight Inc." register as "Carroll
    Freight Holdings Inc."; the first holder of a name keeps it. ``reserved`` slugs are taken already."""
    name, key = companies.name.copy(), companies.domain_slug.copy()
    for attempt in range(8):
        rank = occurrence_rank(np.concatenate([np.array(reserved, dtype=object), key]))[len(reserved):]
        repeat = np.flatnonzero(rank > 0)
        if not len(repeat):
            return Companies(name, key)
        for row in repeat:
            code = countries[country[row]]
            language = LANGUAGE[code]
            words = DISTINGUISHING[language]
            k = int(rank[row]) - 1 + attempt * len(words)
            word = words[k % len(words)] + ("" if k < len(words) else f" {k // len(words) + 1}")
            name[row] = _with_word(name[row], LEGAL_FORMS[code], word, language)
            extra = slug(ROMAJI.get(words[k % len(words)], words[k % len(words)])) + (
                "" if k < len(words) else f"-{k // len(words) + 1}")
            key[row] = f"{key[row]}-{extra}"
    raise AssertionError("company names could not be made distinct")
