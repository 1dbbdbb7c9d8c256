"""Where each country's phone numbers come from: the ranges its regulator set aside for fiction, and
ordinary ranges of well-formed numbers.

A block is a template whose ``#`` are free digits, optionally narrowed to ``count`` values from
``first``. Every block here was checked against libphonenumber's ``is_valid_number`` for its country
(the tests re-check them); they are written out rather than derived at run time so that a new
libphonenumber release can never change the generated data.

Fictional ranges (reserved mode), by regulator:
- US, CA: NANPA keeps 555-0100…0199 unassigned in every geographic area code.
- GB: Ofcom's numbers for TV and radio drama. Nottingham (0115 496 0xxx), the no-area 01632 960xxx and
  the mobile 07700 900xxx are left out because libphonenumber rejects them.
- DE: Bundesnetzagentur, Amtsblatt 7/2021, Mitteilung 148/2021: 1,000 numbers in each of five cities.
- FR: ARCEP's 01 99 00 xx xx.
- AU: ACMA's (02|03|07|08) 5550 xxxx and 7010 xxxx.
- SE: PTS's 070-174 06 05…99 and 100 numbers in each of Stockholm, Göteborg, Malmö and Kiruna.
JP, IN, BR, ES, IT, NL, MX and PL publish no such range: their numbers are well-formed but may be in
service somewhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NumberBlock:
    template: str  # '#' marks a free digit
    first: int = 0
    count: int | None = None  # default: every value of the free digits

    @property
    def size(self) -> int:
        return self.count if self.count is not None else 10 ** self.template.count("#")


# geographic area codes (libphonenumber accepts NPA-555-01xx and NPA-[2-9]xx-xxxx in each)
US_AREA_CODES = tuple(int(c) for c in """
201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 220 223 224 225 227 228 229 231 234 235
239 240 248 251 252 253 254 256 260 262 267 269 270 272 274 276 279 281 283 301 302 303 304 305 307 308 309
310 312 313 314 315 316 317 318 319 320 321 323 324 325 326 327 329 330 331 332 334 336 337 339 341 346 347
350 351 352 353 360 361 363 364 369 380 385 386 401 402 404 405 406 407 408 409 410 412 413 414 415 417 419
423 424 425 430 432 434 435 440 442 443 445 447 448 458 463 464 469 470 472 475 478 479 480 484 501 502 503
504 505 507 508 509 510 512 513 515 516 517 518 520 530 531 534 539 540 541 551 557 559 561 562 563 564 567
570 571 572 573 574 575 580 582 585 586 601 602 603 605 606 607 608 609 610 612 614 615 616 617 618 619 620
623 626 628 629 630 631 636 640 641 645 646 650 651 656 657 659 660 661 662 667 669 678 680 681 682 686 689
701 702 703 704 706 707 708 712 713 714 715 716 717 718 719 720 724 725 726 727 728 730 731 732 734 737 738
740 743 747 748 754 757 760 762 763 765 769 770 771 772 773 774 775 779 781 785 786 801 802 803 804 805 806
808 810 812 813 814 815 816 817 818 820 821 826 828 830 831 832 835 838 839 840 843 845 847 848 850 854 856
857 858 859 860 862 863 864 865 870 872 878 901 903 904 906 907 908 909 910 912 913 914 915 916 917 918 919
920 925 928 929 930 931 934 936 937 938 940 941 943 945 947 948 949 951 952 954 956 959 970 971 972 973 975
978 979 980 984 985 986 989
""".split())
CA_AREA_CODES = tuple(int(c) for c in """
204 226 236 249 250 257 263 273 289 306 343 354 365 367 368 382 403 416 418 428 431 437 438 450 468 474 506
514 519 548 579 581 584 587 604 613 639 647 672 683 705 709 742 753 778 780 782 807 819 825 867 873 879 902
905 942
""".split())


def _nanp(area_codes: tuple[int, ...], exchange: str) -> list[NumberBlock]:
    return [NumberBlock(f"+1 {code}-{exchange}") for code in area_codes]


def _each(template: str, values: str) -> list[NumberBlock]:
    """One block per value of the ``{}`` in ``template``."""
    return [NumberBlock(template.format(v)) for v in values.split()]


FICTIONAL: dict[str, list[NumberBlock]] = {
    "US": _nanp(US_AREA_CODES, "555-01##"),
    "CA": _nanp(CA_AREA_CODES, "555-01##"),
    "GB": [NumberBlock("+44 20 7946 0###"), NumberBlock("+44 28 9649 6###"), NumberBlock("+44 29 2018 0###"),
           NumberBlock("+44 191 498 0###"), NumberBlock("+44 306 999 0###"),
           *_each("+44 {} 496 0###", "113 114 116 117 118 121 131 141 151 161")],
    "DE": [NumberBlock("+49 30 23125###"), NumberBlock("+49 69 90009###"), NumberBlock("+49 40 66969###"),
           NumberBlock("+49 221 4710###"), NumberBlock("+49 89 99998###")],
    "FR": [NumberBlock("+33 1 99 00 ## ##")],
    "AU": [*_each("+61 {} 5550 ####", "2 3 7 8"), *_each("+61 {} 7010 ####", "2 3 7 8")],
    "SE": [NumberBlock("+46 70 174 06 ##", first=5, count=95), NumberBlock("+46 8 465 004 ##"),
           NumberBlock("+46 31 390 06 ##"), NumberBlock("+46 40 628 04 ##"), NumberBlock("+46 980 319 2##")],
}

# big cities' landlines and the common mobile prefixes, each block fully valid for libphonenumber
ORDINARY: dict[str, list[NumberBlock]] = {
    "US": [b for d in "23456789" for b in _nanp(US_AREA_CODES, f"{d}##-####")],
    "CA": [b for d in "23456789" for b in _nanp(CA_AREA_CODES, f"{d}##-####")],
    "GB": [*_each("+44 20 {}### ####", "3 7 8"), *_each("+44 {} ### ####", "141 161"),
           *_each("+44 7{}# ######", "40 41 42 43 44 71 72 73 74 75 76 77 95 96 97 98 99")],
    "DE": [*_each("+49 {} ########", "30 40 69 89 151 152 176"), *_each("+49 {} #######", "160 170 171 172 211 221 711")],
    "FR": [*_each("+33 {} ## ## ## ##", "1 3 9"), *_each("+33 6 {}# ## ## ##", "0 1 2 4 5 6 7 8"),
           NumberBlock("+33 7 5# ## ## ##")],
    "AU": [*_each("+61 2 {}### ####", "8 9"), *_each("+61 3 {}### ####", "8 9"), NumberBlock("+61 7 3### ####"),
           NumberBlock("+61 8 8### ####"), *_each("+61 4{}# ### ###", "0 1 2 3 6")],
    "SE": [NumberBlock("+46 8 ### ### ##"), NumberBlock("+46 31 ### ## ##"), NumberBlock("+46 40 ## ## ##"),
           *_each("+46 {} ### ## ##", "70 72 73 76")],
    "JP": [*_each("+81 3-{}###-####", "1 2 3 4 5 6 7 8 9"), NumberBlock("+81 6-####-####"),
           *_each("+81 {}-###-####", "45 52"), *_each("+81 90-{}###-####", "1 2 3 4 5 6 7 8 9"),
           NumberBlock("+81 80-####-####")],
    "IN": [*_each("+91 {}### #####", "70 80 90 91 93 94 95 96 97 98 99"), *_each("+91 {} 2### ####", "11 22 80")],
    "BR": [*_each("+55 {} 9####-####", "11 21 31"), *_each("+55 {} 3###-####", "11 31 41 51"),
           *_each("+55 {} 2###-####", "11 21")],
    "ES": [NumberBlock("+34 6## ## ## ##"), *_each("+34 9{}# ## ## ##", "1 3 5 6")],
    "IT": [*_each("+39 3{}# ### ####", "2 3 4"), NumberBlock("+39 02 #### ####"),
           *_each("+39 06 {}### ####", "3 4 5 7 8 9"),  # not 06 698…: libphonenumber places it in the Vatican
           *_each("+39 {} ### ####", "011 055")],
    "NL": [*_each("+31 6 {}#######", "1 2 3 4 5 6 8"), *_each("+31 {} ### ####", "10 20 30 70")],
    "MX": [*_each("+52 {} #### ####", "33 55 81"), NumberBlock("+52 222 ### ####")],
    "PL": [*_each("+48 {}# ### ###", "50 51 53 60 66 69 72 78 79 88"), *_each("+48 {} ### ## ##", "12 22 61")],
}
