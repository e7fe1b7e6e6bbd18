// Package tlv decodes and encodes EMV BER-TLV data objects (EMV Book 3
// annex B), data object lists (DOLs: PDOL, CDOL1/2, DDOL) with the Book 3
// fill rules, and carries a dictionary of EMV tags used to pretty-print.
//
// Decoding is strict: every length is bounds-checked before slicing, and a
// malformed object is reported as a *SyntaxError naming the tag and offset.
// Padding bytes 00 and FF between objects are skipped, as Book 3 allows.
package tlv
