// Package cardsim provides software contactless payment cards: real cards in
// software, not mocks. Each one is personalised from a Profile with RSA keys
// under a test CA (emv/cardsim/perso), real offline data authentication data
// and real application cryptograms (emv/arqc), so the EMV kernel (emv), the
// acquirer simulator (uplink/acqsim) and a real PC/SC stack (through
// emv/cardsim/vpcd) all see what a physical card would give them.
//
// # Presets
//
// Preset returns ready profiles: "visa" (qVSDC + fDDA, kernel 3),
// "visa-mobile" (consumer device CVM), "visa-online-only", "mastercard"
// (M/Chip + CDA, kernel 2), "unionpay" (qPBOC + fDDA, kernel 7), "amex" and
// "amex-dda" (generic path: GPO format 1, INTERNAL AUTHENTICATE, GENERATE AC
// with CDA when the AIP offers it), and hostile cards whose Fault or data
// must lead a terminal to a clear outcome: "expired-card", "bad-tlv",
// "bad-length", "missing-pan", "record-not-found", "bad-signature",
// "bad-signature-cda", "expired-cert", "gpo-6985", "wrong-answer",
// "blocked", "unexpected-sw", "removed". Profile.Description says what each
// is for.
//
// # What the card does (choices made where the specifications are private)
//
//   - PPSE: 6F{84 2PAY.SYS.DDF01, A5{BF0C{61{4F, 50, 87, 9F2A}}}}. SELECT by
//     name with partial selection: any prefix of the AID (5 bytes or more)
//     selects the application with P2 00; P2 02 (next) after it answers 6A82
//     (one application). FCI: 6F{84, A5{50, 87, 9F38, 5F2D, 9F11, 9F12,
//     BF0C{9F4D}}}.
//   - qVSDC/qPBOC (KindQ): the PDOL asks 9F66 9F02 9F03 9F1A 95 5F2A 9A 9C
//     9F37. GPO answers 77{82, 94, 57, 5F34, 9F10, 9F26, 9F27, 9F36, 9F4B,
//     9F69, 9F6C, 9F6E (Visa only)}. Cryptogram: AAC when expired (9A after
//     5F24 or before 5F25); ARQC when the TTQ requires an online
//     cryptogram; TC when the amount is at most OfflineLimit in the card's
//     currency (an offline-only reader gets AAC above it); else ARQC. When
//     the TTQ says CVM required: CDCVM performed (CTQ byte 2 bit 8) for a
//     CDCVM profile on a reader supporting it, else online PIN (CTQ byte 1
//     bit 8, and the card goes online) when preferred and supported, else
//     signature (CTQ byte 1 bit 7). 9F69 is fDDA version 01 | 4-byte card
//     unpredictable number | CTQ. fDDA signs (ICC Dynamic Number = ATC)
//     UN | amount | currency | 9F69 (oda.FDDAData) for a TC, and for an
//     ARQC when the TTQ asks ODA for online authorisations. IAD follows the
//     Visa layout 06 01 0A 03 CVR, the AC type in CVR byte 2 bits 6-5.
//   - M/Chip (KindMChip): no PDOL; GPO answers 77{82, 94}. Records: 57 and
//     9F42 (SFI 1); 5A 5F24 5F25 5F28 9F07 5F34 9F08 8C 8D 8E 9F0D 9F0E
//     9F0F 9F4A (SFI 2, signed for ODA); 8F 90 9F32 92 and 9F46 9F47 9F48
//     9F49 (SFI 3). CDOL1 = 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 9F35 9F45 9F4C
//     9F34; CDOL2 = 8A 95 9F37 9F4C. CVM list: X = CVMLimit; online PIN if
//     over X (else next), signature if over X, no CVM. GENERATE AC (card
//     risk management): never above the request; AAC when expired; a TC
//     request becomes ARQC above OfflineLimit, in a foreign currency or when
//     the TVR shows failed ODA, and AAC on an offline-only terminal. With
//     CDA asked (P1 bit 5) and offered (AIP), TC and ARQC come as 77{9F27,
//     9F36, 9F4B, 9F10}, the SDAD over ICC dynamic number | CID | AC | SHA-1
//     of PDOL data | CDOL data | the response objects but 9F4B; otherwise
//     77{9F27, 9F36, 9F26, 9F10}. A second GENERATE AC (CDOL2) after an ARQC
//     gives TC when asked and the authorisation response code is "00" or
//     "Y3", else AAC. IAD: 01 10 CVR(6) DAC(2) counters(8).
//   - Generic (KindGeneric, the amex presets): as M/Chip, but GPO answers
//     format 1 (80 AIP | AFL), and INTERNAL AUTHENTICATE (DDOL 9F37 04)
//     answers 80 SDAD when the AIP offers DDA.
//   - Static data to be authenticated (EMV Book 3 10.3): the values of the
//     ODA records followed by the AIP (9F4A lists 82); the ICC certificate
//     signs it and expires with the card (MMYY of 5F24).
//   - ATC: incremented by every GET PROCESSING OPTIONS, kept across Reset;
//     at FFFF GPO answers 6985. Cryptograms use the EMV common session key
//     of the ATC from the ICC master key derived from Profile.IMK (the
//     arqc test key of the scheme; amex uses the Visa one).
//   - Status words: 6700 wrong length (also extended APDUs), 6E00 class,
//     6D00 instruction, 6A86 P1-P2, 6A80 GPO data not an 83 template, 6985
//     wrong state (READ RECORD before GPO, GPO twice, GET RESPONSE), 6A82
//     unknown name, 6A83 no such record, 6A88 GET DATA of an unknown tag,
//     6Cxx when Le is shorter than the answer.
//   - ATR: 3B 80 80 01 01, the PC/SC part 3 pseudo-ATR of an ISO/IEC
//     14443-4 type A card without historical bytes, as PC/SC readers report
//     EMV contactless cards (the 3B 8F 80 01 80 4F 0C ... form is for
//     storage cards, which payment cards are not).
//
// ICC dynamic numbers (DDA, CDA) and card unpredictable numbers come from a
// ChaCha8 stream seeded by the card identity: runs are reproducible, which a
// simulator wants and a secure element must not do.
//
// New precomputes the files and certificates (certificates are cached per
// content, so many cards with the same data cost one signature); a
// transaction costs one RSA private operation (CRT) for fDDA, DDA or CDA
// and a few DES blocks. A Card serialises its commands with a mutex; the
// package does not log: its data are PANs, track 2 and keys.
//
// The keys are TEST KEYS, public by construction: never personalise a card
// for live money with this package.
package cardsim
