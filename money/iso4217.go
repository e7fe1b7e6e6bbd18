package money

// numericCodes maps ISO 4217 numeric codes to alphabetic codes: the active
// entries of ISO 4217 List One ("Current currency & funds code list",
// published by SIX Group as the ISO 4217 maintenance agency,
// https://www.six-group.com/en/products-services/financial-information/data-standards.html).
// golang.org/x/text/currency carries alphabetic codes and CLDR rounding but
// no numeric codes, and EMV (5F2A, 9F42) and ISO 8583 (field 49) use the
// numeric ones: this table is the only copy in the tree.
var numericCodes = map[uint16]string{
	8: "ALL", 12: "DZD", 32: "ARS", 36: "AUD", 44: "BSD", 48: "BHD", 50: "BDT", 51: "AMD",
	52: "BBD", 60: "BMD", 64: "BTN", 68: "BOB", 72: "BWP", 84: "BZD", 90: "SBD", 96: "BND",
	104: "MMK", 108: "BIF", 116: "KHR", 124: "CAD", 132: "CVE", 136: "KYD", 144: "LKR",
	152: "CLP", 156: "CNY", 170: "COP", 174: "KMF", 188: "CRC", 192: "CUP", 203: "CZK",
	208: "DKK", 214: "DOP", 222: "SVC", 230: "ETB", 232: "ERN", 238: "FKP", 242: "FJD",
	262: "DJF", 270: "GMD", 292: "GIP", 320: "GTQ", 324: "GNF", 328: "GYD", 332: "HTG",
	340: "HNL", 344: "HKD", 348: "HUF", 352: "ISK", 356: "INR", 360: "IDR", 364: "IRR",
	368: "IQD", 376: "ILS", 388: "JMD", 392: "JPY", 398: "KZT", 400: "JOD", 404: "KES",
	408: "KPW", 410: "KRW", 414: "KWD", 417: "KGS", 418: "LAK", 422: "LBP", 426: "LSL",
	430: "LRD", 434: "LYD", 446: "MOP", 454: "MWK", 458: "MYR", 462: "MVR", 480: "MUR",
	484: "MXN", 496: "MNT", 498: "MDL", 504: "MAD", 512: "OMR", 516: "NAD", 524: "NPR",
	532: "ANG", 533: "AWG", 548: "VUV", 554: "NZD", 558: "NIO", 566: "NGN", 578: "NOK",
	586: "PKR", 590: "PAB", 598: "PGK", 600: "PYG", 604: "PEN", 608: "PHP", 634: "QAR",
	643: "RUB", 646: "RWF", 654: "SHP", 682: "SAR", 690: "SCR", 694: "SLL", 702: "SGD",
	704: "VND", 706: "SOS", 710: "ZAR", 728: "SSP", 748: "SZL", 752: "SEK", 756: "CHF",
	760: "SYP", 764: "THB", 776: "TOP", 780: "TTD", 784: "AED", 788: "TND", 800: "UGX",
	807: "MKD", 818: "EGP", 826: "GBP", 834: "TZS", 840: "USD", 858: "UYU", 860: "UZS",
	882: "WST", 886: "YER", 901: "TWD", 924: "ZWG", 925: "SLE", 926: "VED", 927: "UYW",
	928: "VES", 929: "MRU", 930: "STN", 931: "CUC", 932: "ZWL", 933: "BYN", 934: "TMT",
	936: "GHS", 938: "SDG", 940: "UYI", 941: "RSD", 943: "MZN", 944: "AZN", 946: "RON",
	947: "CHE", 948: "CHW", 949: "TRY", 950: "XAF", 951: "XCD", 952: "XOF", 953: "XPF",
	955: "XBA", 956: "XBB", 957: "XBC", 958: "XBD", 959: "XAU", 960: "XDR", 961: "XAG",
	962: "XPT", 963: "XTS", 964: "XPD", 965: "XUA", 967: "ZMW", 968: "SRD", 969: "MGA",
	970: "COU", 971: "AFN", 972: "TJS", 973: "AOA", 975: "BGN", 976: "CDF", 977: "BAM",
	978: "EUR", 979: "MXV", 980: "UAH", 981: "GEL", 984: "BOV", 985: "PLN", 986: "BRL",
	990: "CLF", 994: "XSU", 997: "USN", 999: "XXX",
}

// isoMinorUnits lists, from the same ISO 4217 List One, the minor units of
// the currencies where CLDR's rounding digits (what
// golang.org/x/text/currency.Standard reports) differ from ISO 4217, or that
// x/text does not know. CLDR gives the digits people usually write (IQD 0,
// IDR 0); EMV amounts (9F02 with 5F36) and ISO 8583 field 4 use the ISO 4217
// minor unit, which is what a card and an acquirer expect. TestMinorUnits
// fails when an entry here agrees with x/text (then it is not needed).
// Funds and metal codes with no minor unit ("N.A." in the list) are 0.
var isoMinorUnits = map[string]int{
	"AFN": 2, "ALL": 2, "AMD": 2, "COP": 2, "IDR": 2, "IQD": 3, "IRR": 2, "LAK": 2,
	"LBP": 2, "MGA": 2, "MMK": 2, "GYD": 2, "KPW": 2, "MNT": 2, "MUR": 2, "PKR": 2, "TZS": 2, "UZS": 2, "RSD": 2, "SLL": 2, "SOS": 2, "SYP": 2, "YER": 2,
	"UYW": 4, "MRU": 2, "VES": 2, "VED": 2, "SLE": 2, "ZWG": 2,
	"XAU": 0, "XAG": 0, "XPT": 0, "XPD": 0, "XBA": 0, "XBB": 0, "XBC": 0, "XBD": 0,
	"XDR": 0, "XSU": 0, "XTS": 0, "XUA": 0, "XXX": 0,
}
