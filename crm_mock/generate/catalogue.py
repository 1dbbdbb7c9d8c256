"""The product taxonomy: categories of product kinds, each with the words its names use, the unit it is
sold in, a cost band (base currency) and a markup band. Names, descriptions, units and prices come from
the kind, so a shelf unit costs what shelves cost and wire is sold by the metre.

Curated rather than faked: Faker has no product vocabulary, and a catalogue reads right only when its
words, units and prices belong together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    product_type: str
    category: str
    noun: str
    unit: str  # from v.UNIT_OF_MEASURE
    prefixes: tuple[str, ...]  # the words before the noun ("Cordless", "Heavy-Duty")
    variants: tuple[str, ...]  # what follows it (", 18 V", " 120 × 60 cm")
    cost: tuple[float, float]  # unit cost band, base currency
    markup: tuple[float, float]  # list price / unit cost
    blurb: str  # the description's first sentence
    weight: float = 1.0  # how common the kind is among products of its type

    @property
    def brands(self) -> tuple[str, ...]:
        """Goods carry a maker's brand; materials and our own services none."""
        return BRANDS if self.product_type == FINISHED else ("",)


K = Kind
BRANDS = ("Kestrel", "Northline", "Ironbridge", "Vektor", "Solano", "Atlas Pro", "Meridian", "Orion", "Brightwater",
          "Halden", "Corvus", "Tamarack")
FINISHED = "FINISHED_GOOD"
RAW = "RAW_MATERIAL"
SERVICE = "SERVICE"

KINDS: tuple[Kind, ...] = (
    # office furniture
    K(FINISHED, "Office Furniture", "Office Desk", "EA", ("Height-Adjustable", "Executive", "Compact", "Oak", "Walnut"),
      (" 120 × 60 cm", " 140 × 70 cm", " 160 × 80 cm", " 180 × 80 cm"), (120, 650), (1.5, 2.2),
      "Desk with a scratch-resistant top and cable management."),
    K(FINISHED, "Office Furniture", "Office Chair", "EA", ("Ergonomic", "Executive", "Task", "Mesh-Back", "Leather"),
      (", Black", ", Grey", ", Blue", ", Charcoal"), (70, 420), (1.6, 2.4),
      "Swivel chair with adjustable seat height, lumbar support and armrests."),
    K(FINISHED, "Office Furniture", "Shelving Unit", "EA", ("Steel", "Boltless", "Wall-Mounted", "Oak"),
      (", 5 Shelves", ", 4 Shelves", " 180 × 90 cm", " 200 × 100 cm"), (45, 260), (1.5, 2.1),
      "Freestanding shelving for offices and stockrooms; shelves adjustable in 25 mm steps."),
    K(FINISHED, "Office Furniture", "Filing Cabinet", "EA", ("Steel", "Lockable", "Mobile"),
      (", 2 Drawers", ", 3 Drawers", ", 4 Drawers"), (80, 320), (1.5, 2.0),
      "Filing cabinet with full-extension drawers and a central lock."),
    # tools
    K(FINISHED, "Power Tools", "Cordless Drill", "EA", ("Compact", "Heavy-Duty", "Brushless", "Professional"),
      (" 12 V", " 18 V", " 18 V, 2 Batteries", " 36 V"), (45, 260), (1.5, 2.0),
      "Drill driver with a two-speed gearbox, LED work light and keyless chuck."),
    K(FINISHED, "Power Tools", "Angle Grinder", "EA", ("Compact", "Heavy-Duty", "Cordless"),
      (" 115 mm", " 125 mm", " 230 mm"), (40, 220), (1.5, 2.0), "Angle grinder with a restart guard and side handle."),
    K(FINISHED, "Power Tools", "Circular Saw", "EA", ("Cordless", "Professional", "Plunge"),
      (" 165 mm", " 190 mm", " 235 mm"), (70, 380), (1.5, 2.0), "Circular saw with a bevel stop and dust port."),
    K(FINISHED, "Hand Tools", "Tool Kit", "EA", ("Mechanic's", "Electrician's", "Maintenance", "Household"),
      (", 48 Pieces", ", 94 Pieces", ", 128 Pieces", ", 216 Pieces"), (25, 240), (1.7, 2.5),
      "Tool kit in a moulded carry case with sockets, spanners and screwdriver bits."),
    K(FINISHED, "Hand Tools", "Torque Wrench", "EA", ("Click-Type", "Digital", "Professional"),
      (" 5–60 Nm", " 20–200 Nm", " 60–340 Nm"), (35, 280), (1.6, 2.2), "Calibrated torque wrench, certificate included."),
    K(FINISHED, "Fasteners & Consumables", "Wood Screws", "BOX", ("Zinc-Plated", "Stainless Steel", "Countersunk"),
      (" 4 × 40 mm, Box of 200", " 5 × 60 mm, Box of 200", " 3.5 × 30 mm, Box of 500"), (3, 18), (1.8, 3.0),
      "Self-countersinking screws with a Torx drive.", 1.5),
    K(FINISHED, "Fasteners & Consumables", "Hex Bolts", "BOX", ("Grade 8.8", "Stainless Steel A2", "Galvanised"),
      (" M8 × 40, Box of 100", " M10 × 60, Box of 50", " M12 × 80, Box of 25"), (6, 35), (1.8, 3.0),
      "Hexagon head bolts to ISO 4017, with nuts.", 1.5),
    K(FINISHED, "Fasteners & Consumables", "Safety Gloves", "BOX", ("Nitrile", "Cut-Resistant", "Latex-Free"),
      (", Size M, 12 Pairs", ", Size L, 12 Pairs", ", Size XL, 12 Pairs"), (8, 45), (1.8, 2.8),
      "Work gloves with a grip coating, EN 388 rated.", 1.5),
    K(FINISHED, "Fasteners & Consumables", "Sanding Discs", "BOX", ("Aluminium Oxide", "Ceramic", "Hook-and-Loop"),
      (" 125 mm P80, Box of 50", " 125 mm P120, Box of 50", " 150 mm P240, Box of 100"), (7, 40), (1.8, 3.0),
      "Sanding discs with eight extraction holes.", 1.2),
    # electronics
    K(FINISHED, "Electronics", "Monitor", "EA", ("Ultra-Wide", "Professional", "Office", "Curved"),
      (" 24\"", " 27\"", " 32\"", " 34\""), (90, 520), (1.3, 1.7), "LED monitor with HDMI, DisplayPort and a USB-C hub."),
    K(FINISHED, "Electronics", "Laser Printer", "EA", ("Mono", "Colour", "Multifunction"),
      (" A4", " A3", " A4, Duplex"), (110, 950), (1.3, 1.7), "Network laser printer with duplex printing."),
    K(FINISHED, "Electronics", "Barcode Scanner", "EA", ("Wireless", "Handheld", "Fixed-Mount"),
      (" 1D", " 2D", " 2D, Rugged"), (45, 420), (1.4, 2.0), "Scanner for 1D and 2D codes with a charging cradle."),
    K(FINISHED, "Electronics", "Temperature Sensor", "EA", ("Industrial", "Wireless", "Probe-Type"),
      (" −40 to 125 °C", " 0 to 400 °C", ", IP67"), (15, 160), (1.6, 2.4), "Sensor with a 4–20 mA output."),
    K(FINISHED, "Electronics", "Programmable Logic Controller", "EA", ("Compact", "Modular"),
      (", 16 I/O", ", 32 I/O", ", 64 I/O"), (240, 2_400), (1.4, 1.9), "PLC with Ethernet, Modbus TCP and a web server."),
    K(FINISHED, "Lighting", "LED Floodlight", "EA", ("Outdoor", "Slim", "Motion-Sensing"),
      (" 30 W", " 50 W", " 100 W", " 200 W"), (14, 140), (1.7, 2.5), "IP65 floodlight, 4000 K neutral white."),
    K(FINISHED, "Lighting", "LED Panel", "EA", ("Recessed", "Surface-Mounted", "Dimmable"),
      (" 600 × 600 mm", " 1200 × 300 mm"), (22, 90), (1.7, 2.4), "Flicker-free ceiling panel, UGR < 19."),
    # industrial equipment: the high-value tail
    K(FINISHED, "Industrial Equipment", "Centrifugal Pump", "EA", ("Cast-Iron", "Stainless Steel", "Self-Priming"),
      (" 1.5 kW", " 4 kW", " 11 kW"), (380, 6_500), (1.3, 1.7), "End-suction pump for clean water and coolants.", 0.6),
    K(FINISHED, "Industrial Equipment", "Valve Kit", "EA", ("Brass", "Stainless Steel", "PVC"),
      (" DN15", " DN25", " DN50"), (40, 380), (1.5, 2.1), "Ball valves with fittings and seals.", 0.8),
    K(FINISHED, "Industrial Equipment", "Air Compressor", "EA", ("Oil-Free", "Rotary Screw", "Piston"),
      (" 50 L", " 200 L", " 500 L"), (450, 14_000), (1.3, 1.6), "Compressor with a pressure switch and dryer.", 0.5),
    K(FINISHED, "Industrial Equipment", "Diesel Generator", "EA", ("Silent", "Open-Frame", "Trailer-Mounted"),
      (" 20 kVA", " 60 kVA", " 200 kVA"), (4_000, 60_000), (1.25, 1.5), "Standby generator with automatic transfer.", 0.3),
    K(FINISHED, "Industrial Equipment", "Electric Forklift", "EA", ("Counterbalance", "Compact", "Heavy-Duty"),
      (" 1.5 t", " 2.5 t", " 3.5 t"), (16_000, 48_000), (1.2, 1.45), "Lithium-ion forklift with a triplex mast.", 0.2),
    K(FINISHED, "Industrial Equipment", "CNC Milling Machine", "EA", ("3-Axis", "5-Axis", "Vertical"),
      (", 600 mm Travel", ", 1000 mm Travel"), (45_000, 260_000), (1.2, 1.4),
      "Machining centre with a 24-tool changer; installation quoted separately.", 0.1),
    # raw materials, in the units they are bought in
    K(RAW, "Metals", "Cold-Rolled Steel Sheet", "M2", ("", "Galvanised", "Pickled"),
      (" 1 mm", " 2 mm", " 3 mm"), (9, 45), (1.15, 1.45), "Steel sheet cut to order."),
    K(RAW, "Metals", "Aluminium Coil", "KG", ("", "Anodised", "Painted"), (" 0.5 mm", " 1 mm", " 1.5 mm"),
      (2.5, 6), (1.15, 1.4), "Aluminium alloy 5754 coil, slit to width on request."),
    K(RAW, "Metals", "Copper Wire", "M", ("Bare", "Enamelled", "Tinned"), (" 1.5 mm²", " 2.5 mm²", " 6 mm²"),
      (0.3, 3.5), (1.2, 1.6), "Annealed copper conductor on drums."),
    K(RAW, "Metals", "Stainless Steel Rod", "M", ("304", "316L", "Ground"), (" Ø 10 mm", " Ø 20 mm", " Ø 40 mm"),
      (4, 60), (1.2, 1.5), "Round bar cut to length."),
    K(RAW, "Metals", "Brass Billet", "KG", ("CW614N", "Lead-Free"), (" Ø 60 mm", " Ø 100 mm"), (6, 12), (1.15, 1.4),
      "Extruded billet for machining and forging."),
    K(RAW, "Plastics & Polymers", "Polyethylene Pellets", "KG", ("HDPE", "LDPE", "Recycled HDPE"),
      ("", ", Natural", ", Black"), (1.1, 3), (1.15, 1.4), "Injection-moulding grade pellets in 25 kg sacks."),
    K(RAW, "Plastics & Polymers", "ABS Granulate", "KG", ("General-Purpose", "Flame-Retardant", "High-Impact"),
      ("", ", White"), (1.8, 4.5), (1.15, 1.4), "ABS granulate, dried and ready to mould."),
    K(RAW, "Plastics & Polymers", "Epoxy Resin", "L", ("Laminating", "Casting", "Fast-Curing"), ("", ", Clear"),
      (8, 30), (1.2, 1.6), "Two-part epoxy system, hardener sold separately."),
    K(RAW, "Wood", "Oak Board", "M", ("Kiln-Dried", "Planed", "Rough-Sawn"), (" 27 × 150 mm", " 40 × 200 mm"),
      (7, 28), (1.2, 1.5), "European oak, FSC certified."),
    K(RAW, "Wood", "Plywood Panel", "EA", ("Birch", "Marine", "Pine"), (" 2440 × 1220 × 12 mm", " 2440 × 1220 × 18 mm"),
      (18, 95), (1.2, 1.5), "Plywood panel with exterior-grade glue."),
    K(RAW, "Textiles & Fibres", "Cotton Fibre", "KG", ("Combed", "Organic", "Carded"), ("",), (1.6, 4.5), (1.15, 1.4),
      "Baled staple fibre for spinning."),
    K(RAW, "Textiles & Fibres", "Glass Fibre Mat", "M2", ("Chopped-Strand", "Woven"), (" 300 g/m²", " 450 g/m²"),
      (1.2, 6), (1.2, 1.5), "Reinforcement mat for polyester and epoxy resins."),
    K(RAW, "Chemicals", "Industrial Lubricant", "L", ("Synthetic", "Food-Grade", "High-Temperature"),
      (" ISO VG 46", " ISO VG 68", " ISO VG 220"), (4, 22), (1.2, 1.6), "Lubricating oil in 20 L and 208 L drums."),
    K(RAW, "Chemicals", "Silica Powder", "KG", ("Fumed", "Precipitated"), ("",), (2, 9), (1.2, 1.5),
      "Amorphous silica for coatings and sealants."),
    # services, priced per hour, per month or per job
    K(SERVICE, "Installation & Field Service", "Installation", "HOUR", ("On-Site", "Weekend", "Emergency"),
      ("", ", Two Technicians"), (45, 120), (1.5, 2.2), "Installation by certified technicians, billed per hour on site."),
    K(SERVICE, "Installation & Field Service", "Field Service Visit", "EA", ("Scheduled", "Same-Day", "Next-Day"),
      ("",), (140, 600), (1.4, 2.0), "A technician visit including travel and the first hour on site."),
    K(SERVICE, "Installation & Field Service", "Calibration", "EA", ("Accredited", "Standard", "On-Site"),
      (", per Instrument",), (60, 260), (1.6, 2.4), "Calibration with a traceable certificate."),
    K(SERVICE, "Maintenance Contracts", "Preventive Maintenance Plan", "MONTH", ("Basic", "Standard", "Premium"),
      ("", ", 24/7 Response"), (90, 1_800), (1.6, 2.5), "Scheduled maintenance visits and priority repairs, billed monthly."),
    K(SERVICE, "Maintenance Contracts", "Extended Warranty", "EA", ("1-Year", "2-Year", "3-Year"), ("",),
      (30, 900), (1.8, 3.0), "Parts and labour cover beyond the manufacturer's warranty, per unit covered."),
    K(SERVICE, "Training", "Operator Training", "EA", ("Half-Day", "One-Day", "Two-Day"), (", On-Site", ", Online"),
      (300, 2_400), (1.6, 2.4), "Hands-on training for up to eight participants, per session."),
    K(SERVICE, "Consulting", "Process Consulting", "HOUR", ("Lean", "Automation", "Energy-Efficiency"), ("",),
      (80, 190), (1.5, 2.2), "Consulting by senior engineers, billed per hour."),
    K(SERVICE, "Software & Support", "Remote Monitoring Subscription", "MONTH", ("Basic", "Professional", "Enterprise"),
      ("", ", per Site"), (25, 700), (2.0, 3.5), "Cloud monitoring with alerts and monthly reports, billed monthly."),
    K(SERVICE, "Software & Support", "Remote Support", "HOUR", ("Standard", "Priority"), ("",), (35, 110), (1.6, 2.4),
      "Remote support by phone and screen share, billed per started half hour."),
)

UNIT_WORDS = {"EA": "unit", "BOX": "box", "KG": "kilogram", "M": "metre", "M2": "square metre", "L": "litre",
              "HOUR": "hour", "MONTH": "month"}


def kinds_of(product_type: str) -> tuple[Kind, ...]:
    return tuple(k for k in KINDS if k.product_type == product_type)
