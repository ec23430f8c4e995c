"""The literature pack's confirmed identifiers, typed once from its files.

Each value is what the source's file lists under "Identifiers" (never its "Not confirmed"
list), typed from the pack, not copied from data/*.yaml, so a wrong or invented identifier in
the knowledge fails the tests that read these.
"""

# The identifiers each pack file lists as confirmed ("Identifiers"); never its "Not confirmed".
LITERATURE_DOIS = {
    "arthresther-antitnf-jdm": "10.1186/s13075-020-02164-5",
    "clinrheumatol2021-ilsts": "10.1007/s10067-020-05523-4",
    "floege2015": "10.2215/CJN.10221014",
    "gossett2023": "10.3390/medicina59071306",
    "jaad2011-diagnostic-pathway": "10.1016/j.jaad.2010.08.038",
    "jhandsurg2021-debulking": "10.1016/j.jhsa.2021.01.025",
    "kodumudi2020": "10.1007/s12325-020-01504-w",
    "nephrology2015-hbot": "10.1111/nep.12433",
    "nowaczyk2021": "10.1007/s00403-021-02264-5",
    "pedrheumatol-ilinfliximab-jdm": "10.1186/s12969-023-00941-5",
    "tajalli2019": "10.1016/j.jdcr.2019.08.011",
    "traineau2020": "10.1016/j.jaad.2019.07.006",
}
LITERATURE_PMIDS = {
    "bottomley1996": "8881679",
    "clinrheumatol2021-ilsts": "33244722",
    "floege2015": "25887067",
    "gossett2023": "37512116",
    "jaad2011-diagnostic-pathway": "21679810",
    "jcem2016-topicalsts": "27163355",
    "jhandsurg2021-debulking": "33795151",
    "kodumudi2020": "32997277",
    "nephrology2015-hbot": "25707425",
    "tajalli2019": "31709293",
}
LITERATURE_PMCIDS = {
    "arthresther-antitnf-jdm": "PMC7161150",
    "calciphyx-protocol": "PMC8757410",
    "davuluri2022": "PMC10269219",
    "floege2015": "PMC4422249",
    "gossett2023": "PMC10386543",
    "kodumudi2020": "PMC7595979",
    "tajalli2019": "PMC6835016",
    "zhang2023": "PMC10583374",
}
